import { z } from 'zod';

/** `page` and `pageSize` alone, for lists with a fixed order. */
export function pageQuerySchema(defaultPageSize = 20) {
  return z.object({
    page: z.coerce.number().int().min(1).default(1).describe('1-based page number'),
    pageSize: z.coerce.number().int().min(1).max(100).default(defaultPageSize).describe('Items per page (max 100)'),
  });
}

/** Builds the shared list query (`page`, `pageSize`, `sort`, `q`) for the given sortable fields. */
export function listQuerySchema<const F extends readonly [string, ...string[]]>(sortFields: F, defaultSort: string) {
  const sortValues = sortFields.flatMap((f) => [f, `-${f}`]) as [string, ...string[]];
  return pageQuerySchema().extend({
    sort: z.enum(sortValues).default(defaultSort).describe('Field to sort on; prefix with - for descending'),
    q: z.string().trim().min(1).max(200).optional().describe('Free-text search'),
  });
}

/** `q` on lists whose text is encrypted at rest: matched after decryption, bounded (see db/paging.ts). */
export function decryptedSearch(what: string) {
  return z
    .string()
    .trim()
    .min(1)
    .max(200)
    .optional()
    .describe(`Searches ${what} (case and accents ignored); over at most 2,000 items in scope, else 400 SEARCH_TOO_BROAD`);
}

/** The list envelope used by every collection endpoint. */
export function pageSchema<T extends z.ZodType>(item: T) {
  return z.object({
    items: z.array(item),
    total: z.number().int(),
    page: z.number().int(),
    pageSize: z.number().int(),
  });
}

/** A page of results in the shared list shape. */
export interface Page<T> {
  items: T[];
  total: number;
  page: number;
  pageSize: number;
}

/** Splits `-field` into a column and direction using an explicit field→column map. */
export function parseSort(sort: string, columns: Record<string, string>): { column: string; direction: 'asc' | 'desc' } {
  const desc = sort.startsWith('-');
  const field = desc ? sort.slice(1) : sort;
  const column = columns[field];
  if (!column) throw new Error(`sort field ${field} has no column mapping`);
  return { column, direction: desc ? 'desc' : 'asc' };
}

/** Escapes LIKE wildcards so a search for "50%" matches literally. */
export function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}
