// The words a passed appointment, contact and task test uses for what it opened, and how the
// Enabled condition reads them back: Enabled names the kinds that really synchronize (only the
// kinds the Deployment turns on and the server's adapter has a store for), never more. One
// format, written by src/connect/mailbox-tester.ts and read by src/controllers/mailbox-summary.ts.

import type { ActKind } from '../api/act-fields.js';

/** The Exchange folder each kind's test opens, as the message says it. */
const OPENED: Record<ActKind, string> = { appointment: 'calendar', contact: 'contacts', task: 'tasks' };
/** The same kinds as Enabled names what is processed. */
const PROCESSED: Record<string, string> = { calendar: 'appointments', contacts: 'contacts', tasks: 'tasks' };

/** "a", "a and b", "a, b and c". */
function list(words: string[]): string {
  return words.length > 1 ? `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}` : words.join('');
}

/**
 * A passed ACT test's message: what it opened, where, and which wanted kinds this version does not
 * synchronize over the protocol (so the condition says it rather than leaving it to be assumed).
 */
export function actTestMessage(
  opened: readonly ActKind[],
  address: string,
  where: string,
  notSynchronized: readonly ActKind[],
  protocol: string,
): string {
  const not = notSynchronized.length
    ? `; ${list(notSynchronized.map((k) => `${k}s`))} are not synchronized by this version over ${protocol}`
    : '';
  return `opened the ${list(opened.map((k) => OPENED[k]))} of ${address} on ${where}${not}`;
}

/** What a passed ACT test's message says synchronizes ("appointments and contacts"); undefined for another message. */
export function actProcessedKinds(message: string): string | undefined {
  const m = /^opened the (.+?) of /.exec(message);
  if (!m) return undefined;
  const words = m[1].split(/, | and /).map((w) => PROCESSED[w]);
  return words.length && words.every(Boolean) ? list(words) : undefined;
}
