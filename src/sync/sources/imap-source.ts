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
      yield { raw, receivedAt: raw.receivedAt, ...(reread ? { reread } : {}), position: () => ({ uidValidity, lastUid: uid, ...(highestModseq ? { highestModseq } : {}) }) };
    }
  }

  async remove(m: FetchedMessage): Promise<void> {
    await this.session.delete(uidOf(m.raw.id));
  }

  async moveToUndeliverable(m: FetchedMessage): Promise<void> {
    await this.session.moveTo(uidOf(m.raw.id), this.undeliverableFolder);
  }
}
