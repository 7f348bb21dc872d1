import type { Knex } from 'knex';

// Opaque tokens are now stored as an HMAC keyed with SECRET_KEY (common/tokens.ts tokenDigest), so that rotating
// the key ends them. Digests written before (plain SHA-256) can never match again: the viewer sessions and share
// links they belong to are marked ended, so that lists do not show them live (refresh tokens simply stop working:
// their holders log in again once).
export async function up(knex: Knex): Promise<void> {
  await knex('viewer_sessions').whereNull('revoked_at').update({ revoked_at: knex.fn.now() });
  await knex('study_shares').whereNull('revoked_at').update({ revoked_at: knex.fn.now() });
}

export async function down(): Promise<void> {
  // Nothing to undo: the old digests cannot be matched by the previous code either once revoked.
}
