import { isUid } from '../../common/dicom-syntax.js';
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
  | { kind: 'denied'; reason: string };

const denied = (reason: string): DicomWebRequest => ({ kind: 'denied', reason });

function frameList(s: string | undefined): number[] | null {
  if (!s || !/^\d+(,\d+)*$/.test(s)) return null;
  const frames = s.split(',').map(Number);
  return frames.every((n) => n >= 1 && n <= 100_000) ? frames : null;
}

/**
 * Parses a path relative to the DICOMweb root (e.g. `/studies/1.2/series`). Pure: no I/O, table-tested.
 * Query parameters do not change what is touched; they are filtered later (QIDO) or passed through.
 */
export function parseDicomWebPath(method: string, path: string): DicomWebRequest {
  const clean = path.split('?')[0]!.replace(/\/+$/, '');
  if (clean.includes('//') || /%2f|%2e|\\/i.test(clean)) return denied('unusual path encoding');
  const seg = clean.split('/').slice(1);
  if (seg.some((s) => s === '' || s === '.' || s === '..')) return denied('empty or relative path segment');
  const [root, study, l2, series, l4, instance, l6, frames, l8] = seg;
  const m = method.toUpperCase();

  if (m === 'POST') {
    if (root === 'studies' && seg.length === 1) return { kind: 'stow' };
    if (root === 'studies' && seg.length === 2 && isUid(study)) return { kind: 'stow', study };
    return denied('only STOW (POST /studies[/{study}]) accepts POST');
  }
  if (m !== 'GET' && m !== 'HEAD') return denied(`method ${m} not allowed`);

  // QIDO at the root: /studies, /series, /instances
  if (seg.length === 1 && (root === 'studies' || root === 'series' || root === 'instances')) return { kind: 'qido', level: root };
  if (root !== 'studies' || !isUid(study)) return denied('not a DICOMweb resource');

  if (seg.length === 2) return { kind: 'wado', study, target: 'retrieve' };
  if (seg.length === 3) {
    if (l2 === 'series') return { kind: 'qido', level: 'series', study };
    if (l2 === 'instances') return { kind: 'qido', level: 'instances', study };
    if (l2 === 'metadata' || l2 === 'rendered' || l2 === 'thumbnail') return { kind: 'wado', study, target: l2 };
    return denied('unknown study resource');
  }
  if (l2 !== 'series' || !isUid(series)) return denied('not a series path');
  if (seg.length === 4) return { kind: 'wado', study, series, target: 'retrieve' };
  if (seg.length === 5) {
    if (l4 === 'instances') return { kind: 'qido', level: 'instances', study, series };
    if (l4 === 'metadata' || l4 === 'rendered' || l4 === 'thumbnail') return { kind: 'wado', study, series, target: l4 };
    return denied('unknown series resource');
  }
  if (l4 !== 'instances' || !isUid(instance)) return denied('not an instance path');
  if (seg.length === 6) return { kind: 'wado', study, series, instance, target: 'retrieve' };
  if (seg.length === 7 && (l6 === 'metadata' || l6 === 'rendered' || l6 === 'thumbnail'))
    return { kind: 'wado', study, series, instance, target: l6 };
  if (l6 === 'frames') {
    const list = frameList(frames);
    if (!list) return denied('invalid frame list');
    if (seg.length === 8) return { kind: 'wado', study, series, instance, target: 'frames', frames: list };
    if (seg.length === 9 && l8 === 'rendered') return { kind: 'wado', study, series, instance, target: 'rendered', frames: list };
  }
  if (l6 === 'bulk' && seg.length >= 8) return { kind: 'wado', study, series, instance, target: 'bulkdata' };
  return denied('unknown instance resource');
}
