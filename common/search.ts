// One normalisation for every search: case and accents folded, the words of a query matched in any order.
// The database applies the same folding (`mediconnect_fold`, migration 20261205200000_search_fold) where it
// searches itself (patients); the API applies this one to text it decrypts (records, appointments).
import { FOLD_FROM, FOLD_TO } from '../db/migrations/20261205200000_search_fold.js';

const FOLD = new Map([...FOLD_FROM].map((c, i) => [c, FOLD_TO[i]!]));
const LIGATURES: [RegExp, string][] = [
  [/[Œœ]/g, 'oe'],
  [/[Ææ]/g, 'ae'],
  [/ß/g, 'ss'],
];

/** Lower-case, accents removed, as `mediconnect_fold` does: "Amélie Œuvray" → "amelie oeuvray". */
export function fold(text: string): string {
  let out = text;
  for (const [re, to] of LIGATURES) out = out.replace(re, to);
  out = [...out]
    .map((c) => FOLD.get(c) ?? c)
    .join('')
    .toLowerCase();
  // Letters outside the table (other scripts' accents) still lose their combining marks.
  return out.normalize('NFD').replace(/\p{M}/gu, '');
}

/** The words of a query, folded (at most 8: a search box, not a document). */
export function searchWords(q: string): string[] {
  return fold(q).split(/\s+/).filter(Boolean).slice(0, 8);
}

/** Whether every word of the query is found in the text, in any order: "Poulain Amélie" finds "Amélie Poulain". */
export function matchesWords(text: string, words: string[]): boolean {
  const haystack = fold(text);
  return words.every((w) => haystack.includes(w));
}
