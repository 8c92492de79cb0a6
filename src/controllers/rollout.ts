// RolloutController: decides, from the API objects alone, how far the current revision of a profile
// has reached its mailboxes and whether the next batch may start. It keeps no state of its own:
// everything it needs is in the profile's status.rollout (the revision, the batch number and the
// range of the rollout order admitted so far) and in each mailbox's status, so a new leader picks
// up a rollout exactly where the last one left it.
//
//   - Held mailboxes (running on another configuration, see rollout-mailbox.ts) move in batches of
//     spec.rollout.batchSize, in the rollout order (queues first, then users, each by name).
//   - A batch starts when the previous one has a result for every mailbox and spec.rollout.interval
//     has passed since; the first batch of a revision starts at once.
//   - When failed tests in the current batch reach spec.rollout.failureThreshold percent of the
//     batch, no further batch starts: the rollout is paused until the profile changes again (a fix
//     or a revert is a new revision, and a new rollout) or enough of the failures pass on retry.
//   - spec.rollout.paused stops new batches by hand.
// Planning is pure: the ProfileReconciler writes the result and records the events.

import { mailboxKind, type EmailServerProfile, type EmailServerProfileSpec, type Mailbox, type ProfileStatus } from '../api/types.js';
import { durationMs } from '../api/quantities.js';
import { compareKeys, inOpenBatch, rolloutKey, type MailboxRolloutState } from './rollout-mailbox.js';

export type RolloutStatusT = NonNullable<ProfileStatus['rollout']>;

export interface RolloutSettings {
  batchSize: number;
  maxConcurrentTests: number;
  intervalMs: number;
  failureThreshold: number;
  paused: boolean;
}

/** spec.rollout with the API's defaults (the API server fills them in; objects from older CRDs may lack them). */
export function rolloutSettings(spec: EmailServerProfileSpec): RolloutSettings {
  const r = spec.rollout ?? {};
  return {
    batchSize: r.batchSize ?? 50,
    maxConcurrentTests: r.maxConcurrentTests ?? 10,
    intervalMs: durationMs(r.interval, 30_000),
    failureThreshold: r.failureThreshold ?? 50,
    paused: r.paused ?? false,
  };
}

export interface RolloutMailbox {
  mailbox: Mailbox;
  state: MailboxRolloutState;
  /** Its configuration resolves (Deployment, profile and credentials are all there). */
  resolvable: boolean;
}

/**
 * Complete: every mailbox runs the current revision. Progressing: mailboxes are still moving.
 * Paused: failures in the current batch reached the threshold. PausedByUser: spec.rollout.paused.
 * Incomplete: nothing is left to move, but some mailboxes failed their test and stay behind.
 */
export type RolloutPhase = 'Complete' | 'Progressing' | 'Paused' | 'PausedByUser' | 'Incomplete';

export interface RolloutCounts {
  updated: number;
  tested: number;
  failed: number;
  pending: number;
}

export interface RolloutPlan {
  rollout: RolloutStatusT;
  counts: RolloutCounts;
  phase: RolloutPhase;
  /** One sentence for the Ready condition: where the rollout stands and, when stuck, why. */
  message: string;
  events: { type: 'Normal' | 'Warning'; reason: string; message: string }[];
  /** Plan again after this long (the interval before the next batch). */
  requeueAfterMs?: number;
}

const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
// Batch times keep their milliseconds: the interval is measured from them.
const preciseIso = (d: Date) => d.toISOString();
const MAX_FAILURES_LISTED = 20;
const MAX_FAILURES_NAMED = 5;

export class RolloutController {
  plan(profile: EmailServerProfile, revision: string, mailboxes: RolloutMailbox[], now: Date = new Date()): RolloutPlan {
    const settings = rolloutSettings(profile.spec);
    const prev = profile.status?.rollout;
    // A new revision starts a new rollout from the beginning of the order.
    const r: RolloutStatusT = prev?.revision === revision ? { ...prev } : { revision, batch: 0, batchSize: 0 };
    delete r.failures;
    const events: RolloutPlan['events'] = [];
    const all = mailboxes
      .map((x) => ({ ...x, key: rolloutKey(x.mailbox), name: x.mailbox.metadata.name }))
      .sort((a, b) => compareKeys(a.key, b.key));
    const held = all.filter((x) => x.state.held);
    const inBatch = (key: string) => inOpenBatch(r, key);
    const batchPending = held.filter((x) => !x.state.failed && inBatch(x.key));
    const batchFailed = held.filter((x) => x.state.failed && x.state.failed.batch === r.batch);
    const failed = held.filter((x) => x.state.failed);
    const short = (x: (typeof all)[number]) => x.name;

    if (r.batch && !batchPending.length && !r.batchCompletionTime) {
      r.batchCompletionTime = preciseIso(now);
      const passed = Math.max(0, (r.batchSize ?? 0) - batchFailed.length);
      events.push({
        type: batchFailed.length ? 'Warning' : 'Normal',
        reason: 'RolloutBatchCompleted',
        message: `batch ${r.batch} of the rollout of revision ${revision}: ${passed} passed, ${batchFailed.length} failed${batchFailed.length ? ` (${batchFailed.slice(0, MAX_FAILURES_NAMED).map(short).join(', ')}${batchFailed.length > MAX_FAILURES_NAMED ? ', ...' : ''})` : ''}`,
      });
    }
    const thresholdReached = !!r.batch && (r.batchSize ?? 0) > 0 && batchFailed.length * 100 >= settings.failureThreshold * r.batchSize!;
    // Held mailboxes not yet admitted (nor failed): those ahead of the range, and any that became
    // held behind it later (their Deployment's default changed, say), taken on a new pass.
    const candidates = held.filter((x) => !x.state.failed && !inBatch(x.key));
    let requeueAfterMs: number | undefined;
    if (candidates.length && !batchPending.length && !thresholdReached && !settings.paused) {
      const readyAt = r.batch && r.batchCompletionTime ? Date.parse(r.batchCompletionTime) + settings.intervalMs : now.getTime();
      if (readyAt <= now.getTime()) {
        const ahead = candidates.filter((x) => compareKeys(x.key, r.admittedThrough ?? '') > 0);
        const pool = ahead.length ? ahead : candidates;
        const members = pool.slice(0, settings.batchSize);
        r.batchAfter = ahead.length ? (r.admittedThrough ?? '') : '';
        r.admittedThrough = members[members.length - 1].key;
        r.batch = (r.batch ?? 0) + 1;
        r.batchSize = members.length;
        r.batchStartTime = preciseIso(now);
        delete r.batchCompletionTime;
        const queues = members.filter((x) => mailboxKind(x.mailbox) !== 'User').length;
        const left = candidates.length - members.length;
        events.push({
          type: 'Normal',
          reason: 'RolloutBatchStarted',
          message:
            `batch ${r.batch}: ${members.length} mailboxes (${queues} queues, ${members.length - queues} users) move to revision ${revision}, ` +
            `${members[0].name} to ${members[members.length - 1].name}; ${left} more to go after this batch`,
        });
      } else {
        requeueAfterMs = readyAt - now.getTime();
      }
    }

    const counts: RolloutCounts = {
      updated: all.filter((x) => x.state.upToDate).length,
      tested: all.filter((x) => x.mailbox.status?.testedRevision === revision).length,
      failed: failed.length,
      pending: all.filter((x) => !x.state.upToDate && !x.state.failed && x.resolvable).length,
    };
    const ordered = [...batchFailed, ...failed.filter((x) => !batchFailed.includes(x))];
    if (ordered.length) {
      r.failures = ordered
        .slice(0, MAX_FAILURES_LISTED)
        .map((x) => ({ mailbox: x.name, reason: x.state.failed!.reason, message: x.state.failed!.message.slice(0, 1024) }));
    }
    const named = (xs: typeof all) =>
      xs
        .slice(0, MAX_FAILURES_NAMED)
        .map((x) => `${x.name} (${x.state.failed!.reason}: ${firstClause(x.state.failed!.message)})`)
        .join(', ') + (xs.length > MAX_FAILURES_NAMED ? ` and ${xs.length - MAX_FAILURES_NAMED} more (${listedIn(ordered.length)})` : '');
    const progress = `${counts.updated} of ${all.length} mailboxes on revision ${revision}`;

    let phase: RolloutPhase;
    let message: string;
    if (thresholdReached) {
      phase = 'Paused';
      message =
        `rollout of revision ${revision} paused at batch ${r.batch}: ${batchFailed.length} of ${r.batchSize} mailboxes failed their test ` +
        `(failureThreshold ${settings.failureThreshold}%): ${named(batchFailed)}. They and the ${candidates.length} mailboxes not yet moved keep running on their ` +
        `last-known-good revision. Fix the profile, or revert it, to start a new rollout`;
    } else if (counts.pending && settings.paused && candidates.length) {
      phase = 'PausedByUser';
      message = `rollout of revision ${revision} paused by spec.rollout.paused after batch ${r.batch}: ${progress}, ${candidates.length} waiting`;
    } else if (counts.pending) {
      phase = 'Progressing';
      message = r.batch
        ? `rolling out revision ${revision}: batch ${r.batch} of ${r.batch + Math.ceil(candidates.length / settings.batchSize)}, ${progress}, ${counts.failed} failed`
        : `testing mailboxes on revision ${revision}: ${progress}`;
      if (requeueAfterMs !== undefined) message += `; next batch at ${iso(new Date(now.getTime() + requeueAfterMs))}`;
    } else if (counts.failed) {
      phase = 'Incomplete';
      message =
        `revision ${revision} rolled out, but ${counts.failed} mailboxes failed their test and keep running on their last-known-good revision: ${named(ordered)}. ` +
        `Fix them and request a test (annotation mailsync.dev/test-requested-at), or change the profile`;
    } else {
      phase = 'Complete';
      message = all.length ? `${progress}` : `no mailboxes use this profile (revision ${revision})`;
    }
    return { rollout: r, counts, phase, message, events, requeueAfterMs };
  }
}

/** Where the failures not named in a message are: status.rollout.failures lists only the first MAX_FAILURES_LISTED. */
function listedIn(failed: number): string {
  return failed > MAX_FAILURES_LISTED
    ? `status.rollout.failures lists the first ${MAX_FAILURES_LISTED} of ${failed}; kubectl get mailboxes -o wide shows each in its ROLLOUT column`
    : 'status.rollout.failures';
}

/** The start of a failure message, enough to recognise it in a one-line summary. */
function firstClause(message: string): string {
  const cut = message.split(/; | \(transient failure/)[0];
  return cut.length > 120 ? `${cut.slice(0, 117)}...` : cut;
}
