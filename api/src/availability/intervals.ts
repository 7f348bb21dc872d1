import { DateTime, IANAZone } from 'luxon';

/** A half-open time interval [start, end) in epoch milliseconds (UTC). */
export interface Interval {
  start: number;
  end: number;
}

/** One weekly opening: weekday 1 = Monday … 7 = Sunday, local "HH:MM" times in the doctor's zone. */
export interface WeeklyHours {
  weekday: number;
  start: string;
  end: string;
}

/** A closed period (holiday, congress…), as instants. */
export interface AvailabilityException {
  from: string;
  to: string;
  reason?: string | null;
}

/** What a doctor declared. */
export interface Availability {
  timezone: string;
  weekly: WeeklyHours[];
  exceptions: AvailabilityException[];
}

/** Whether the zone is a valid IANA time zone name. */
export const isValidZone = (zone: string): boolean => IANAZone.isValidZone(zone);

/** Minutes after midnight of "HH:MM". */
const minutesOf = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

// Wall-clock time on a local day; calendar math, so DST days keep 08:00 at 08:00.
function atLocal(day: DateTime, hhmm: string): DateTime {
  if (hhmm === '24:00') return day.plus({ days: 1 });
  return day.set({ hour: Number(hhmm.slice(0, 2)), minute: Number(hhmm.slice(3, 5)) });
}

/** Sorts and merges overlapping or touching intervals. */
export function mergeIntervals(intervals: Interval[]): Interval[] {
  const sorted = [...intervals].filter((i) => i.end > i.start).sort((a, b) => a.start - b.start);
  const out: Interval[] = [];
  for (const i of sorted) {
    const last = out[out.length - 1];
    if (last && i.start <= last.end) last.end = Math.max(last.end, i.end);
    else out.push({ ...i });
  }
  return out;
}

/**
 * Removes the `holes` from the `base` intervals, in one sweep over both once sorted and merged: linear in
 * their number, so a doctor's 500 exceptions against two months of hours cost microseconds, not a product.
 */
export function subtractIntervals(base: Interval[], holes: Interval[]): Interval[] {
  const kept = mergeIntervals(base);
  const cuts = mergeIntervals(holes);
  const out: Interval[] = [];
  let h = 0;
  for (const interval of kept) {
    let start = interval.start;
    // Holes ending before this interval cannot touch it or any later one.
    while (h < cuts.length && cuts[h]!.end <= start) h++;
    for (let k = h; k < cuts.length && cuts[k]!.start < interval.end; k++) {
      const cut = cuts[k]!;
      if (cut.start > start) out.push({ start, end: cut.start });
      start = Math.max(start, cut.end);
    }
    if (start < interval.end) out.push({ start, end: interval.end });
  }
  return out;
}

/**
 * The doctor's opening hours between `from` and `to`, as UTC intervals. Weekly hours are local wall-clock
 * times, so 08:00 in Europe/Paris is 07:00 UTC in winter and 06:00 UTC in summer; exceptions are removed.
 */
export function openIntervals(availability: Availability, from: number, to: number): Interval[] {
  const zone = availability.timezone;
  const raw: Interval[] = [];
  // One day of margin on each side: a local day can straddle the UTC range's edges.
  let day = DateTime.fromMillis(from, { zone }).startOf('day').minus({ days: 1 });
  const last = DateTime.fromMillis(to, { zone }).startOf('day').plus({ days: 1 });
  while (day <= last) {
    const next = day.plus({ days: 1 });
    const midnight = day.toMillis();
    // A day of exactly 24 hours holds no offset change: its wall-clock times are midnight plus minutes, which is
    // what luxon computes, without its cost (the longest search asks ~2,000 of them). A transition day goes
    // through luxon.
    const regular = next.toMillis() - midnight === DAY;
    const at = (hhmm: string) =>
      hhmm === '24:00' ? next.toMillis() : regular ? midnight + minutesOf(hhmm) * MINUTE : atLocal(day, hhmm).toMillis();
    const weekday = day.weekday;
    for (const w of availability.weekly) {
      if (w.weekday !== weekday) continue;
      raw.push({ start: at(w.start), end: at(w.end) });
    }
    day = next;
  }
  const clipped = raw.map((i) => ({ start: Math.max(i.start, from), end: Math.min(i.end, to) }));
  const closed = availability.exceptions.map((e) => ({ start: Date.parse(e.from), end: Date.parse(e.to) }));
  return subtractIntervals(clipped, closed);
}

/** Whether [start, end) lies entirely inside one of the intervals. */
export function isCovered(intervals: Interval[], start: number, end: number): boolean {
  return mergeIntervals(intervals).some((i) => i.start <= start && end <= i.end);
}

/** Formats an instant in the given zone, with its offset (e.g. 2026-12-01T08:00:00.000+01:00), as luxon's `toISO`. */
export function formatInZone(millis: number, zone: string): string {
  // Luxon takes "UTC" and "GMT" (any case) as its fixed UTC zone, printed with Z.
  if (isLuxonUtc(zone) && millis >= YEAR_0 && millis < YEAR_10000) return new Date(millis).toISOString();
  const offset = zoneOffset(millis, zone);
  if (offset !== null) {
    const local = millis + offset * MINUTE;
    if (local >= YEAR_0 && local < YEAR_10000) {
      const abs = Math.abs(offset);
      return `${new Date(local).toISOString().slice(0, 23)}${offset < 0 ? '-' : '+'}${pad2(Math.floor(abs / 60))}:${pad2(abs % 60)}`;
    }
  }
  return DateTime.fromMillis(millis, { zone }).toISO({ suppressMilliseconds: false }) ?? new Date(millis).toISOString();
}

const MINUTE = 60_000;
const HOUR = 3_600_000;
const YEAR_0 = -62_167_219_200_000;
const YEAR_10000 = 253_402_300_800_000;
/** Names luxon takes as its fixed UTC zone (printed Z) rather than as IANA zones, in any case. */
const isLuxonUtc = (zone: string) => zone.length === 3 && ['utc', 'gmt'].includes(zone.toLowerCase());
const pad2 = (n: number) => (n < 10 ? `0${n}` : String(n));

// Luxon formats through Intl on every call (a list page formats 40 instants). The offset is the same across an
// hour except at a transition, so it is computed once per zone and hour, checked at both ends of the hour;
// an hour holding a transition, a zone luxon does not treat as IANA ("UTC" prints "Z"), and offsets that are
// not whole minutes (local mean times before 1970) go through luxon itself.
const zoneFormats = new Map<string, Intl.DateTimeFormat | null>();
const hourOffsets = new Map<string, number | null>();
const HOUR_OFFSETS_KEPT = 20_000;

function zoneFormat(zone: string): Intl.DateTimeFormat | null {
  let format = zoneFormats.get(zone);
  if (format === undefined) {
    format =
      IANAZone.isValidZone(zone) && !isLuxonUtc(zone)
        ? new Intl.DateTimeFormat('en-US', {
            timeZone: zone,
            hourCycle: 'h23',
            year: 'numeric',
            month: 'numeric',
            day: 'numeric',
            hour: 'numeric',
            minute: 'numeric',
            second: 'numeric',
            era: 'short',
          })
        : null;
    zoneFormats.set(zone, format);
  }
  return format;
}

/** The zone's offset in whole minutes at a whole second, or null when it is not a whole number of minutes. */
function exactOffset(format: Intl.DateTimeFormat, second: number): number | null {
  const f: Record<string, string> = {};
  for (const part of format.formatToParts(second)) f[part.type] = part.value;
  const year = f.era === 'BC' || f.era === 'B' ? 1 - Number(f.year) : Number(f.year);
  const wall = Date.UTC(2000, Number(f.month) - 1, Number(f.day), Number(f.hour), Number(f.minute), Number(f.second));
  const local = new Date(wall).setUTCFullYear(year);
  const diff = (local - second) / MINUTE;
  return Number.isInteger(diff) ? diff : null;
}

/** The offset in minutes of `zone` at `millis`, or null to leave the instant to luxon. */
function zoneOffset(millis: number, zone: string): number | null {
  const format = zoneFormat(zone);
  if (!format || !Number.isFinite(millis)) return null;
  const hour = Math.floor(millis / HOUR);
  const key = `${zone}|${hour}`;
  const cached = hourOffsets.get(key);
  if (cached !== undefined) return cached;
  const first = exactOffset(format, hour * HOUR);
  const last = exactOffset(format, (hour + 1) * HOUR - 1000);
  if (first !== last) return exactOffset(format, Math.floor(millis / 1000) * 1000);
  if (hourOffsets.size >= HOUR_OFFSETS_KEPT) hourOffsets.clear();
  hourOffsets.set(key, first);
  return first;
}

const DAY = 86_400_000;
/** The longest window free slots are computed over, whichever of `from` and `to` are given. */
export const MAX_SLOT_WINDOW_DAYS = 62;
/** Offered slots start on this grid (and never in the past), so the first one can be booked. */
export const SLOT_GRID_MS = 5 * 60_000;

/**
 * The window of a free-slot search: `from` (default now) to `to` (default from + 14 days), refused with the
 * reason when `to` is not after `from` or the window is longer than {@link MAX_SLOT_WINDOW_DAYS}; offered from
 * the next grid point after now at the earliest.
 */
export function slotWindow(
  query: { from?: string; to?: string },
  now: number,
): { from: number; to: number; offeredFrom: number } | 'EMPTY' | 'TOO_LONG' {
  const from = query.from ? Date.parse(query.from) : now;
  const to = query.to ? Date.parse(query.to) : from + 14 * DAY;
  if (!(to > from)) return 'EMPTY';
  if (to - from > MAX_SLOT_WINDOW_DAYS * DAY) return 'TOO_LONG';
  const earliest = Math.ceil(Math.max(from, now) / SLOT_GRID_MS) * SLOT_GRID_MS;
  return { from, to, offeredFrom: Math.min(earliest, to) };
}
