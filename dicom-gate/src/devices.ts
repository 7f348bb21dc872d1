// Which device may associate: an active registered AE title of an active hospital, calling from its
// registered host. Read from the database at every association, so a registration, a deactivation or a
// restart of anything takes effect at the next association, and no restart forgets a device.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Knex } from 'knex';

/** A registered device allowed to push. */
export interface Device {
  id: string;
  aeTitle: string;
  hospitalId: string;
}

/** Why an association is refused (logged and counted; the device only learns "calling AE title not recognized"). */
export type DeviceRefusal = 'unknown_ae_title' | 'inactive' | 'wrong_host';

/** An address as compared: IPv4-mapped IPv6 (`::ffff:10.0.0.5`) read as IPv4. */
export function canonicalAddress(address: string): string {
  const lower = address.trim().toLowerCase();
  return lower.startsWith('::ffff:') && isIP(lower.slice(7)) === 4 ? lower.slice(7) : lower;
}

/** The addresses a registered host stands for: itself when it is an address, else what it resolves to (2 s at most). */
async function addressesOf(host: string): Promise<string[]> {
  if (isIP(host)) return [canonicalAddress(host)];
  const resolved = lookup(host, { all: true }).then(
    (found) => found.map((a) => canonicalAddress(a.address)),
    () => [] as string[],
  );
  const timeout = new Promise<string[]>((resolve) => setTimeout(() => resolve([]), 2_000).unref());
  return Promise.race([resolved, timeout]);
}

/** The device calling as `aeTitle` from `address`, or why it may not associate. AE titles compare without case. */
export async function findDevice(db: Knex, aeTitle: string, address: string): Promise<Device | DeviceRefusal> {
  const row: { id: string; ae_title: string; hospital_id: string; host: string; is_active: boolean; hospital_active: boolean } | undefined =
    await db('modalities as m')
      .join('hospitals as h', 'h.id', 'm.hospital_id')
      .whereNull('m.deleted_at')
      .whereNull('h.deleted_at')
      .whereRaw('upper(m.ae_title) = upper(?)', [aeTitle.trim()])
      .first('m.id', 'm.ae_title', 'm.hospital_id', 'm.host', 'm.is_active', 'h.is_active as hospital_active');
  if (!row) return 'unknown_ae_title';
  if (!row.is_active || !row.hospital_active) return 'inactive';
  if (!(await addressesOf(row.host)).includes(canonicalAddress(address))) return 'wrong_host';
  return { id: row.id, aeTitle: row.ae_title, hospitalId: row.hospital_id };
}
