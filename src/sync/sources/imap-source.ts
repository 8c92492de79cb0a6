// IMAP as an incoming source: UIDVALIDITY + last UID checkpoints. A changed UIDVALIDITY means the
// UIDs name other messages now, so the folder is read again from the start; the CRM's
// idempotency on Message-ID turns that into "already there" for everything it has.

import type { ImapSession } from '../../mail/imap.js';
import type { Checkpoint, FetchedMessage, IncomingSource } from '../incoming.js';

const uidOf = (id: string) => Number(id.slice(id.indexOf(':') + 1));

export class ImapSource implements IncomingSource {
  constructor(
    private readonly session: ImapSession,
    private readonly undeliverableFolder = 'Undeliverable',
  ) {}

  async *fetchNew(cp: Checkpoint | undefined): AsyncGenerator<FetchedMessage> {
    const st = await this.session.status();
    const uidValidity = String(st.uidValidity);
    const highestModseq = st.highestModseq !== undefined ? String(st.highestModseq) : undefined;
    const lastUid = cp?.uidValidity === uidValidity ? (cp.lastUid ?? 0) : 0;
    // A checkpoint of another UIDVALIDITY: the folder is read again from the start.
    const reread = cp?.uidValidity !== undefined && cp.uidValidity !== uidValidity;
    for await (const raw of this.session.fetchSince(lastUid)) {
      const uid = uidOf(raw.id);
      yield {
        raw,
        receivedAt: raw.receivedAt,
        ...(reread ? { reread } : {}),
        position: () => ({ uidValidity, lastUid: uid, ...(highestModseq ? { highestModseq } : {}) }),
      };
    }
  }

  async remove(m: FetchedMessage): Promise<void> {
    await this.session.delete(uidOf(m.raw.id));
  }

  async moveToUndeliverable(m: FetchedMessage): Promise<void> {
    await this.session.moveTo(uidOf(m.raw.id), this.undeliverableFolder);
  }
}

/**
 * IMAP polled without a standing connection (spec.incoming.notifications: Poll): each cycle signs
 * in, reads what is new and signs out, so an idle mailbox holds no connection on either side.
 */
export class PolledImapSource implements IncomingSource {
  private current?: ImapSource;

  /** `open` makes a new session (it connects at once); the cycle closes it. */
  constructor(private readonly open: () => ImapSession) {}

  async *fetchNew(cp: Checkpoint | undefined): AsyncGenerator<FetchedMessage> {
    const session = this.open();
    this.current = new ImapSource(session);
    try {
      yield* this.current.fetchNew(cp);
    } finally {
      this.current = undefined;
      await session.close();
    }
  }

  async remove(m: FetchedMessage): Promise<void> {
    await this.current?.remove(m);
  }

  async moveToUndeliverable(m: FetchedMessage): Promise<void> {
    await this.current?.moveToUndeliverable(m);
  }
}
