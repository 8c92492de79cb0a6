// Time zones of appointments: the internal model names them by IANA id (Europe/Berlin), Exchange
// by Windows id (W. Europe Standard Time). The mapping is CLDR's (the windows-iana package). A
// zone without a mapping cannot be written to Exchange: the item is refused on its own
// (ItemRejected, naming the zone), never the mailbox. Without a time zone, times are UTC.

import { findIana, findWindows } from 'windows-iana';
import { MailError } from '../mail/types.js';

const UTC_IDS = new Set(['utc', 'etc/utc', 'etc/gmt', 'gmt', 'etc/uct', 'uct', 'etc/universal', 'etc/zulu', 'coordinated universal time']);

/** Whether this id (IANA or Windows) means UTC, i.e. no time zone of its own. */
export const isUtcZone = (id: string): boolean => UTC_IDS.has(id.trim().toLowerCase()) || /^tzone:\/\/microsoft\/utc$/i.test(id.trim());

/** The Windows id of an IANA zone; undefined when CLDR has none (or the id is not a zone). */
export function windowsZone(iana: string): string | undefined {
  if (isUtcZone(iana)) return 'UTC';
  return findWindows(iana)[0];
}

/** The IANA id of a Windows zone (CLDR's first, "001" territory); an IANA id is returned as it is. */
export function ianaZone(id: string | undefined | null): string | undefined {
  if (!id || isUtcZone(id)) return undefined;
  const mapped = findIana(id)[0];
  if (mapped) return mapped;
  return findWindows(id).length ? id : undefined;
}

/**
 * The model's form of a zone: UTC is no zone (null); a zone Windows knows is CLDR's IANA id of its
 * Windows zone (Europe/Amsterdam and Europe/Berlin are both W. Europe Standard Time, so both read
 * back from Exchange as Europe/Berlin: one value, not a change); an unknown id stays as it is (it
 * is refused when written to Exchange).
 */
export function canonicalZone(id: string): string | null {
  const trimmed = id.trim();
  if (!trimmed || isUtcZone(trimmed)) return null;
  const w = findIana(trimmed).length ? trimmed : findWindows(trimmed)[0];
  return (w && findIana(w)[0]) || trimmed;
}

/** The Windows id to write for an appointment's IANA zone, or an item-level refusal naming it. */
export function requireWindowsZone(iana: string, server: string): string {
  const w = windowsZone(iana);
  if (!w)
    throw new MailError(
      'ItemRejected',
      `the appointment's time zone "${iana}" has no Windows time zone that ${server} accepts; it is skipped until its time zone changes (use an IANA zone such as Europe/Berlin)`,
    );
  return w;
}

/** The UTC offset of an IANA zone at an instant, in minutes (east positive). */
function offsetMinutes(iana: string, at: number): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: iana,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(new Date(at));
  const n = (t: string): number => Number(parts.find((p) => p.type === t)?.value);
  const wall = Date.UTC(n('year'), n('month') - 1, n('day'), n('hour'), n('minute'), n('second'));
  return Math.round((wall - Math.floor(at / 1000) * 1000) / 60_000);
}

/** The wall-clock time (YYYY-MM-DDTHH:mm:ss, no offset) of a UTC instant in an IANA zone. */
export function wallTime(utcIso: string, iana: string | undefined): string {
  const t = Date.parse(utcIso);
  const shifted = iana ? t + offsetMinutes(iana, t) * 60_000 : t;
  return new Date(shifted).toISOString().slice(0, 19);
}

/** The UTC instant (ISO, Z) of a wall-clock time in an IANA zone. */
export function fromWallTime(wall: string, iana: string | undefined): string {
  const asUtc = Date.parse(`${wall.slice(0, 19)}Z`);
  if (!iana) return new Date(asUtc).toISOString().replace(/\.\d{3}Z$/, 'Z');
  // Two passes settle the offset across a daylight-saving change.
  let t = asUtc - offsetMinutes(iana, asUtc) * 60_000;
  t = asUtc - offsetMinutes(iana, t) * 60_000;
  return new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
