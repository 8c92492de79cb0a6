// The ACT loop's part of a mailbox syncer (src/sync/mailbox-syncer.ts): one cycle of the engine,
// with its per-kind counts, skipped items and dry-run findings reported to the mailbox's reporter.

import type { CycleCounts, SyncParts, SyncReporter } from '../sync/mailbox-syncer.js';
import { KIND_PLURAL, type ActKind } from '../act/model.js';
import { createActPart, type ActPart } from './act.js';
import type { ActWatch } from './act-notifications.js';

export function actSyncPart(
  input: Omit<Parameters<typeof createActPart>[0], 'itemFailed'> & {
    /** Change notifications that wake the loop (connect/act-notifications.ts); polled only without. */
    notifications?: (part: ActPart) => ActWatch | undefined;
  },
  intervalMs?: number,
): NonNullable<SyncParts['act']> {
  let reporter: SyncReporter | undefined;
  let part: ReturnType<typeof createActPart>;
  try {
    part = createActPart({ ...input, itemFailed: (kind, item, reason, message) => reporter?.actItemFailed?.(kind, item, reason, message) });
  } catch (err) {
    // A configuration ACT cannot run on (a connector without ACT, an EWS profile without a URL)
    // fails this direction with the reason on its condition; email directions are not affected.
    return { intervalMs: () => intervalMs ?? 30_000, cycle: () => Promise.reject(err) };
  }
  let notifying: ActWatch | undefined;
  try {
    notifying = input.notifications?.(part);
  } catch {
    // The cycle reports what is wrong with the configuration; the loop is polled meanwhile.
  }
  return {
    intervalMs: () => intervalMs ?? part.intervalMs(),
    ...(notifying ? { watch: notifying.watch, close: notifying.close } : {}),
    async cycle(r): Promise<CycleCounts> {
      reporter = r;
      const { kinds, notified: _notified, ...total } = await part.cycle();
      if (part.dryRun) {
        const line = (Object.entries(kinds) as [ActKind, NonNullable<(typeof kinds)[ActKind]>][])
          .map(
            ([k, c]) =>
              `${KIND_PLURAL[k]}: ${c.created} to create, ${c.updated} to update, ${c.deleted} to delete, ${c.unlinked} to unlink`,
          )
          .join('; ');
        r.actDryRun?.(`${line} (nothing was written)`);
        return {};
      }
      r.actCycle?.(kinds as Record<string, Record<string, number>>);
      return total;
    },
  };
}
