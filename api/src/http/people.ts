import { z } from 'zod';

/** How every answer names another account: its id, name and role (never a bare id). */
export const personRefSchema = z.object({ id: z.uuid(), firstName: z.string(), lastName: z.string(), role: z.string() });
export type PersonRef = z.output<typeof personRefSchema>;

/** The columns of an account joined as `alias`, read back by {@link toPersonRef} under `prefix`. */
export const personColumns = (alias: string, prefix: string): string[] => [
  `${alias}.first_name as ${prefix}_first_name`,
  `${alias}.last_name as ${prefix}_last_name`,
  `${alias}.role as ${prefix}_role`,
];

/** The reference to the account `id`, from the columns {@link personColumns} selected; null when there is none. */
export function toPersonRef(id: string | null, row: object, prefix: string): PersonRef | null {
  if (!id) return null;
  const r = row as Record<string, string | null>;
  return { id, firstName: r[`${prefix}_first_name`] ?? '', lastName: r[`${prefix}_last_name`] ?? '', role: r[`${prefix}_role`] ?? '' };
}
