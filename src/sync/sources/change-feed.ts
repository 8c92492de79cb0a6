// Exchange as an incoming source: EWS SyncFolderItems and Graph delta queries both hand out "the
// items created since this opaque state" plus a new state. The checkpoint moves to the new state
// only with the last message of a round, so a crash mid-round replays the round (and the CRM's
// idempotency absorbs the replay).

import type { RawMessage } from '../../mail/types.js';
import type { Checkpoint, FetchedMessage, IncomingSource } from '../incoming.js';

export interface ChangeFeed {
  /** Items created since `state` (all on the first call) and the state to continue from. */
  changes(state: string | undefined): Promise<{ created: string[]; state: string }>;
  /** The raw message; undefined when it is gone already. */
  mime(id: string): Promise<RawMessage | undefined>;
  /** Deletes a processed message (deleteAfterProcessing). */
  remove?(id: string): Promise<void>;
  /** Moves a message out of the folder into the named one (moveFailedToUndeliverable). */
  moveTo?(id: string, folder: string): Promise<void>;
}

export class ChangeFeedSource implements IncomingSource {
  constructor(
    private readonly feed: ChangeFeed,
    private readonly undeliverableFolder = 'Undeliverable',
  ) {}

  async remove(m: FetchedMessage): Promise<void> {
    await this.feed.remove?.(m.raw.id);
  }

  async moveToUndeliverable(m: FetchedMessage): Promise<void> {
    await this.feed.moveTo?.(m.raw.id, this.undeliverableFolder);
  }

  async *fetchNew(cp: Checkpoint | undefined): AsyncGenerator<FetchedMessage> {
    const { created, state } = await this.feed.changes(cp?.syncState);
    const resume = cp?.syncState ? { syncState: cp.syncState } : {};
    // One message of lookahead: only the last message that still exists carries the new state.
    let held: RawMessage | undefined;
    for (const id of created) {
      const raw = await this.feed.mime(id);
      if (!raw) continue; // deleted before we got to it
      if (held) yield { raw: held, position: () => resume };
      held = raw;
    }
    if (held) yield { raw: held, position: () => ({ syncState: state }) };
  }
}
