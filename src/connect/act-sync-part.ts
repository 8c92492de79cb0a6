// The ACT loop's part of a mailbox syncer (src/sync/mailbox-syncer.ts): one cycle of the engine,
// with its per-kind counts, skipped items and dry-run findings reported to the mailbox's reporter.

import type { CycleCounts, SyncParts, SyncReporter } from '../sync/mailbox-syncer.js';
import { KIND_PLURAL, type ActKind } from '../act/model.js';
import { createActPart } from './act.js';

export function actSyncPart(
  input: Omit<Parameters<typeof createActPart>[0], 'itemFailed'>,
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
  return {
    intervalMs: () => intervalMs ?? part.intervalMs(),
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
