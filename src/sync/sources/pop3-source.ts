// POP3 as an incoming source: POP3 has no UIDs that order messages, only UIDL strings, so the
// checkpoint is the set of UIDLs already delivered that are still on the server, stored gzip'd
// in checkpoint.syncState. A message whose UIDL is not in the set is new.

import { gunzipSync, gzipSync } from 'node:zlib';
import type { Pop3Client } from '../../mail/pop3-client.js';
import { receivedDate } from '../../mail/received-date.js';
import type { Checkpoint, FetchedMessage, IncomingSource } from '../incoming.js';

export function encodeUidls(uidls: Iterable<string>): string {
  return gzipSync(Buffer.from([...uidls].join('\n'))).toString('base64');
}

export function decodeUidls(state: string | undefined): Set<string> {
  if (!state) return new Set();
  try {
    return new Set(gunzipSync(Buffer.from(state, 'base64')).toString().split('\n').filter(Boolean));
  } catch {
    return new Set(); // an unreadable checkpoint means a full resync, which the CRM deduplicates
  }
}

export class Pop3Source implements IncomingSource {
  private readonly toDelete = new Set<number>();

  /** `open` returns a fresh authenticated client for each cycle (POP3 locks the maildrop). */
  constructor(private readonly open: () => Promise<Pop3Client>) {}

  private client?: Pop3Client;
  private numbers = new Map<string, number>();

  async *fetchNew(cp: Checkpoint | undefined): AsyncGenerator<FetchedMessage> {
    const seen = decodeUidls(cp?.syncState);
    this.client = await this.open();
    try {
      const listing = await this.client.uidl();
      const onServer = new Set(listing.map((l) => l.uid));
      // Forget UIDLs that left the server, so the set stays as small as the maildrop.
      const delivered = new Set([...seen].filter((u) => onServer.has(u)));
      this.numbers = new Map(listing.map((l) => [l.uid, l.msg]));
      // Positions share one append-only list; each remembers how much of it was done.
      const base = [...delivered];
      const added: string[] = [];
      for (const { msg, uid } of listing) {
        if (delivered.has(uid)) continue;
        const source = await this.client.retr(msg);
        added.push(uid);
        const count = added.length;
        // POP3 has no received date of its own: the message's newest Received: header says it.
        const receivedAt = receivedDate(source);
        yield {
          raw: { id: uid, source },
          ...(receivedAt ? { receivedAt } : {}),
          position: () => ({ syncState: encodeUidls([...base, ...added.slice(0, count)]) }),
        };
      }
      // DELE marks take effect only at QUIT.
      for (const msg of this.toDelete) await this.client.dele(msg);
      await this.client.quit();
    } finally {
      this.toDelete.clear();
      this.client.close();
      this.client = undefined;
    }
  }

  async remove(m: FetchedMessage): Promise<void> {
    const n = this.numbers.get(m.raw.id);
    if (n !== undefined) this.toDelete.add(n);
  }
}
