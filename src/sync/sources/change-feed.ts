// Exchange as an incoming source: EWS SyncFolderItems and Graph delta queries both hand out "the
// items created since this opaque state" plus a new state. The checkpoint moves to the new state
// only with the last message of a round, so a crash mid-round replays the round (and the CRM's
// idempotency absorbs the replay).
//
// Both also say when each item was received. An item received before the mailbox's start
// (processEmailReceivedAfter) is not downloaded: it is handed on with that date and no content,
// and the pipeline, which applies the same start first, leaves it out. It still carries the
// checkpoint forward, so a first sync of a large, old Inbox costs one listing, not a download.

import type { RawMessage } from '../../mail/types.js';
import type { Checkpoint, FetchedMessage, IncomingSource } from '../incoming.js';

export interface ChangeFeed {
  /** Items created since `state` (all on the first call), when each was received if known, and the state to continue from. */
  changes(state: string | undefined): Promise<{ created: string[]; receivedAt?: ReadonlyMap<string, Date>; state: string }>;
  /** The raw message; undefined when it is gone already. */
  mime(id: string): Promise<RawMessage | undefined>;
  /** Deletes a processed message (deleteAfterProcessing). */
  remove?(id: string): Promise<void>;
  /** Moves a message out of the folder into the named one (moveFailedToUndeliverable). */
  moveTo?(id: string, folder: string): Promise<void>;
}

export interface ChangeFeedOptions {
  /** The mailbox's start: items received before it are not downloaded. */
  receivedAfter?: Date;
  /** Where moveFailedToUndeliverable puts a message (default Undeliverable). */
  undeliverableFolder?: string;
}

export class ChangeFeedSource implements IncomingSource {
  constructor(
    private readonly feed: ChangeFeed,
    private readonly options: ChangeFeedOptions = {},
  ) {}

  async remove(m: FetchedMessage): Promise<void> {
    await this.feed.remove?.(m.raw.id);
  }

  async moveToUndeliverable(m: FetchedMessage): Promise<void> {
    await this.feed.moveTo?.(m.raw.id, this.options.undeliverableFolder ?? 'Undeliverable');
  }

  async *fetchNew(cp: Checkpoint | undefined): AsyncGenerator<FetchedMessage> {
    const { created, receivedAt, state } = await this.feed.changes(cp?.syncState);
    const resume = cp?.syncState ? { syncState: cp.syncState } : {};
    const start = this.options.receivedAfter?.getTime();
    // One message of lookahead: only the last message that still exists carries the new state.
    let held: Omit<FetchedMessage, 'position'> | undefined;
    for (const id of created) {
      const received = receivedAt?.get(id);
      let next: Omit<FetchedMessage, 'position'>;
      if (start !== undefined && received && received.getTime() < start) {
        next = { raw: { id, source: Buffer.alloc(0) }, receivedAt: received };
      } else {
        const raw = await this.feed.mime(id);
        if (!raw) continue; // deleted before we got to it
        next = { raw, ...(received ? { receivedAt: received } : {}) };
      }
      if (held) yield { ...held, position: () => resume };
      held = next;
    }
    if (held) yield { ...held, position: () => ({ syncState: state }) };
  }
}
