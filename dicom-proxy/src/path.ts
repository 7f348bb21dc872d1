import { isUid } from '../../common/dicom-syntax.js';
import { DICOMWEB_RESOURCES, type DicomWebResource } from '../../common/dicomweb-resources.js';
/**
 * What a DICOMweb request touches, decided from its method and path alone. Anything not recognised is
 * `denied`: the proxy forwards only requests it understands and can authorize.
 */
export type DicomWebRequest =
  | { kind: 'qido'; level: 'studies' | 'series' | 'instances'; study?: string; series?: string }
  | {
      kind: 'wado';
      study: string;
      series?: string;
      instance?: string;
      /** `retrieve` (the DICOM files), or a sub-resource. */
      target: 'retrieve' | 'metadata' | 'rendered' | 'thumbnail' | 'frames' | 'bulkdata';
      frames?: number[];
    }
  | { kind: 'stow'; study?: string }
  /** A resource the proxy serves, asked with a method it does not serve on it (405, as Orthanc answers). */
  | { kind: 'method-not-allowed'; allow: string }
  | { kind: 'denied'; reason: string };

const denied = (reason: string): DicomWebRequest => ({ kind: 'denied', reason });

function frameList(s: string | undefined): number[] | null {
  if (!s || !/^\d+(,\d+)*$/.test(s)) return null;
  const frames = s.split(',').map(Number);
  return frames.every((n) => n >= 1 && n <= 100_000) ? frames : null;
}

/** A resource of the table as segments: literals, or the name of a variable (`{study}` → `study`). */
const SHAPES = DICOMWEB_RESOURCES.map((resource) => ({
  resource,
  segments: resource.path
    .split('/')
    .slice(1)
    .map((s) => (s.startsWith('{') ? { variable: s.slice(1, -1) } : { literal: s })),
}));

/** What a variable segment must hold; `bulk` takes the rest of the path (at least one segment). */
function valueOf(variable: string, seg: string): string | number[] | null {
  if (variable === 'frames') return frameList(seg);
  return isUid(seg) ? seg : null;
}

/** The resource of the table a path's segments name, with the values of its variables; null when none does. */
function matchShape(seg: string[]): { resource: DicomWebResource; values: Record<string, string | number[]> } | null {
  for (const { resource, segments } of SHAPES) {
    const bulk = segments.at(-1) && 'variable' in segments.at(-1)! && segments.at(-1)!.variable === 'bulk';
    if (bulk ? seg.length < segments.length : seg.length !== segments.length) continue;
    const values: Record<string, string | number[]> = {};
    const fits = segments.every((part, i) => {
      if ('literal' in part) return seg[i] === part.literal;
      if (part.variable === 'bulk') return true;
      const value = valueOf(part.variable, seg[i]!);
      if (value === null) return false;
      values[part.variable] = value;
      return true;
    });
    if (fits) return { resource, values };
  }
  return null;
}

/**
 * Parses a path relative to the DICOMweb root (e.g. `/studies/1.2/series`). Pure: no I/O, table-tested. What is
 * read is exactly the table of readable resources (common/dicomweb-resources.ts), which also documents them.
 * Query parameters do not change what is touched; they are filtered later (QIDO) or passed through.
 */
export function parseDicomWebPath(method: string, path: string): DicomWebRequest {
  const clean = path.split('?')[0]!.replace(/\/+$/, '');
  if (clean.includes('//') || /%2f|%2e|\\/i.test(clean)) return denied('unusual path encoding');
  const seg = clean.split('/').slice(1);
  if (seg.some((s) => s === '' || s === '.' || s === '..')) return denied('empty or relative path segment');
  const m = method.toUpperCase();

  const [root, study] = seg;
  const stowable = root === 'studies' && (seg.length === 1 || (seg.length === 2 && isUid(study)));
  if (m === 'POST' && stowable) return seg.length === 1 ? { kind: 'stow' } : { kind: 'stow', study: study! };
  const found = matchShape(seg);
  if (m !== 'GET' && m !== 'HEAD') {
    // Only a path the proxy serves says which methods it takes; any other stays unknown (404).
    if (!found || (found.resource.service === 'wado' && found.resource.target === 'search')) return denied(`method ${m} not allowed`);
    return { kind: 'method-not-allowed', allow: stowable ? 'GET, HEAD, POST' : 'GET, HEAD' };
  }

  if (!found) return denied('not a DICOMweb resource');
  const { resource, values } = found;
  // Only the UIDs the path names (the table's tests compare whole objects).
  const uids = Object.fromEntries(
    (['study', 'series', 'instance'] as const).filter((k) => values[k] !== undefined).map((k) => [k, values[k] as string]),
  ) as { study?: string; series?: string; instance?: string };
  if (resource.service === 'qido') {
    return { kind: 'qido', level: seg.at(-1) as 'studies' | 'series' | 'instances', ...uids };
  }
  if (resource.target === 'search') return denied('not a DICOMweb resource');
  const frames = values.frames as number[] | undefined;
  return { kind: 'wado', study: uids.study!, ...uids, target: resource.target, ...(frames ? { frames } : {}) };
}
