// When a message reached its mailbox, read from the message itself: for POP3, which has no
// server-side date (RFC 1939), the newest Received: header (RFC 5321 4.4: each server prepends
// one, ending in "; date-time"), else the Date: header the sender wrote.

/** Headers are read from the first bytes only: a header block longer than this is not a mailbox's. */
const HEADER_LIMIT = 256 * 1024;

/** The received time of an RFC 5322 message, or undefined when its headers do not say. */
export function receivedDate(source: Buffer | string): Date | undefined {
  const text = (typeof source === 'string' ? source : source.subarray(0, HEADER_LIMIT).toString('latin1')).slice(0, HEADER_LIMIT);
  const end = text.search(/\r?\n\r?\n/);
  // Unfolded header lines (a line starting with white space continues the one before).
  const lines = (end < 0 ? text : text.slice(0, end)).replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/);
  const header = (name: string) => lines.find((l) => l.toLowerCase().startsWith(`${name}:`))?.slice(name.length + 1);
  const received = header('received');
  const fromReceived = received !== undefined ? parse(received.slice(received.lastIndexOf(';') + 1)) : undefined;
  return fromReceived ?? parse(header('date'));
}

function parse(text: string | undefined): Date | undefined {
  // Comments such as "(UTC)" are not understood by Date.parse.
  const t = text ? Date.parse(text.replace(/\([^)]*\)/g, '').trim()) : NaN;
  return Number.isNaN(t) ? undefined : new Date(t);
}
