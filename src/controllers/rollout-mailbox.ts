// A mailbox's place in its profile's rollout, computed from API objects alone so that the profile
// reconciler (which plans batches) and the mailbox reconciler (which tests) always agree.
//
// A mailbox is *held* when it runs mail (Enabled=True) on a configuration other than the one it
// should run: another revision of its profile, another profile (its Deployment's default changed),
// or other delivery methods. Held mailboxes move only when their batch is admitted and their test
// of the new configuration passes; until then they keep running on their last-known-good one.
// Mailboxes that run nothing (new, failing, suspended, awaiting approval) have nothing to protect:
// they are tested at once, within the profile's concurrency limit.

import { mailboxKind, type EmailServerProfile, type Mailbox } from '../api/types.js';
import { getCondition } from '../kube/conditions.js';
import { DIRECTION_CONDITIONS, DIRECTIONS, type Direction } from '../domain/testing-ports.js';

// Defined in domain/ (the mailbox index counts failing directions for the sync worker too).
export { DIRECTION_CONDITIONS, DIRECTIONS };

/** The condition that says whether a mailbox runs the configuration it should. */
export const UP_TO_DATE = 'UpToDate';
/** UpToDate reason while a held mailbox waits for the rollout to admit it. */
export const WAITING_FOR_BATCH = 'WaitingForBatch';

/** What a mailbox should run now: its profile after defaults, that profile's revision and its delivery directions. */
export interface DesiredConfig {
  profile: string;
  revision: string;
  directions: Direction[];
}

export interface MailboxRolloutState {
  /** Runs the desired profile, revision and directions. */
  upToDate: boolean;
  /** Runs mail on another configuration, which it keeps until its test of the desired one passes. */
  held: boolean;
  /** Held, and its test of the desired revision failed (in batch `batch` of that revision's rollout). */
  failed?: { reason: string; message: string; batch?: number };
}

/** The rollout order: forward and queue mailboxes before user mailboxes ("Forward" < "Queue" < "User"), then by name. */
export const rolloutKey = (m: Mailbox): string => `${mailboxKind(m)}/${m.metadata.name}`;

/** Plain code-unit order, the same in every process (localeCompare is not). */
export const compareKeys = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Directions whose delivery method was not None when the mailbox was last switched (their conditions are not NotRun). */
export function runningDirections(m: Mailbox): Direction[] {
  return DIRECTIONS.filter((d) => {
    const c = getCondition(m.status?.conditions, DIRECTION_CONDITIONS[d]);
    return c !== undefined && c.reason !== 'NotRun';
  });
}

export const isRunning = (m: Mailbox): boolean =>
  getCondition(m.status?.conditions, 'Enabled')?.status === 'True' && !!m.status?.revision && !!m.status?.serverProfile;

export function mailboxRolloutState(m: Mailbox, desired: DesiredConfig): MailboxRolloutState {
  const s = m.status ?? {};
  const running = runningDirections(m);
  const upToDate =
    s.serverProfile === desired.profile &&
    s.revision === desired.revision &&
    running.length === desired.directions.length &&
    desired.directions.every((d) => running.includes(d));
  const held = !upToDate && isRunning(m);
  if (!held) return { upToDate, held };
  const c = getCondition(s.conditions, UP_TO_DATE);
  const failed =
    s.targetRevision === desired.revision && c?.status === 'False' && c.reason !== WAITING_FOR_BATCH
      ? { reason: c.reason, message: c.message, batch: s.rolloutBatch }
      : undefined;
  return { upToDate, held, failed };
}

type RolloutStatus = NonNullable<NonNullable<EmailServerProfile['status']>['rollout']>;

/**
 * Whether `key` lies in the open batch of a rollout. A batch closes when each of its mailboxes has
 * a result; a mailbox that becomes held in its range later waits for a batch of its own.
 */
export function inOpenBatch(r: RolloutStatus, key: string): boolean {
  if (!r.batch || !r.admittedThrough || r.batchCompletionTime) return false;
  return compareKeys(key, r.batchAfter ?? '') > 0 && compareKeys(key, r.admittedThrough) <= 0;
}

/** Whether the profile's rollout lets a held mailbox test `revision` now: its batch is open. */
export function inCurrentBatch(profile: EmailServerProfile, revision: string, key: string): boolean {
  const r = profile.status?.rollout;
  return !!r && r.revision === revision && profile.status?.revision === revision && inOpenBatch(r, key);
}
