// The wave plan: Microsoft's advice for moving mailboxes to server-side synchronization is queue
// mailboxes first, then users, at most 200 at a time, every 5 hours ("to allow the mapping table
// to rebuild"). The import groups the mailboxes the same way (shared mailboxes, that is queues and
// forward mailboxes, never share a wave with users), so GitOps can apply one wave directory at a
// time; the report puts the time each wave needs at the operator's measured Test and Enable rate
// beside Microsoft's cadence. Pure.

import { compare } from './names.js';

/**
 * Test and Enable of 1,000 new mailboxes took 59.3 s (README, Benchmarks: bench/rollout.ts against
 * Dovecot, one profile, the default maxConcurrentTests of 10, on the 2-core development machine).
 */
export const MEASURED_TEST_AND_ENABLE = { mailboxes: 1000, seconds: 59.3 } as const;
/** Microsoft's guidance: at most 200 mailboxes per wave, one wave every 5 hours. */
export const MICROSOFT_CADENCE = { mailboxes: 200, hours: 5 } as const;
export const DEFAULT_WAVE_SIZE = MICROSOFT_CADENCE.mailboxes;

export interface Wave {
  /** 1 is the first. */
  index: number;
  /** Directory name under waves/, e.g. 01-queues. */
  id: string;
  kind: 'queues' | 'users';
  /** Mailbox names, in order. */
  mailboxes: string[];
}

export function planWaves(mailboxes: { name: string; shared: boolean }[], size: number = DEFAULT_WAVE_SIZE): Wave[] {
  if (!Number.isInteger(size) || size < 1) throw new Error(`wave size must be a positive integer, not ${size}`);
  const chunks: { kind: Wave['kind']; mailboxes: string[] }[] = [];
  for (const kind of ['queues', 'users'] as const) {
    const names = mailboxes
      .filter((m) => m.shared === (kind === 'queues'))
      .map((m) => m.name)
      .sort(compare);
    for (let i = 0; i < names.length; i += size) chunks.push({ kind, mailboxes: names.slice(i, i + size) });
  }
  const width = Math.max(2, String(chunks.length).length);
  return chunks.map((c, i) => ({ index: i + 1, id: `${String(i + 1).padStart(width, '0')}-${c.kind}`, ...c }));
}

/** Seconds Test and Enable of `n` new mailboxes takes at the measured rate. */
export function testAndEnableSeconds(n: number): number {
  return (n * MEASURED_TEST_AND_ENABLE.seconds) / MEASURED_TEST_AND_ENABLE.mailboxes;
}

/** "12 s", "3 min 5 s", "2 h 10 min". */
export function formatSeconds(s: number): string {
  const total = Math.max(1, Math.round(s));
  if (total < 60) return `${total} s`;
  if (total < 3600) return `${Math.floor(total / 60)} min${total % 60 ? ` ${total % 60} s` : ''}`;
  const m = Math.round(total / 60);
  return `${Math.floor(m / 60)} h${m % 60 ? ` ${m % 60} min` : ''}`;
}
