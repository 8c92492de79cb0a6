// MailboxReconciler: resolves a Mailbox's Deployment and profile (with defaults), runs Test and
// Enable when the configuration changed or a test was requested, retries transient failures
// with backoff up to a budget, and summarises everything as conditions:
//   IncomingEmailReady / OutgoingEmailReady / AppointmentsContactsTasksReady  (test results)
//   Approved / Denied (set by approvers; withdrawn here when the address changes)
//   Enabled (processing is on), Ready (summary), Reconciling / Stalled (kstatus),
//   UpToDate (whether it runs the current revision of its profile; see below).
// Mail-server tests plug in through MailboxTesting, so this file knows nothing of IMAP or EWS.
//
// The direction conditions, status.serverProfile, status.revision and status.configHash always
// describe one configuration: the one the mailbox runs on, which the sync workers run. A mailbox
// that runs mail and should move to another configuration (a new profile revision, another
// profile or other delivery methods from its Deployment's defaults) is *held* (rollout-mailbox.ts):
// it waits until its profile's rollout admits it, is tested on the new configuration, and switches
// only if every direction passes. A failed test leaves it running on its last-known-good
// configuration: Enabled stays True (reason RunningLastKnownGood), UpToDate and Ready are False
// with the failure. Every other test (a new mailbox, one that runs nothing, a change to the
// mailbox's own spec or Secret, a test request) switches at once, as Test and Enable always has.
// All tests of one profile's mailboxes share spec.rollout.maxConcurrentTests (TestSlots).

import { isPermanentReason } from '../api/reasons.js';
import { DEFAULT_RETRY_POLICY, retryPolicyOf, type RetryPolicy } from '../api/retry-policy.js';
import type { Deployment, Mailbox, MailboxStatusT } from '../api/types.js';
import { RESOURCES, TEST_REQUESTED_AT } from '../api/types.js';
import { getCondition, removeCondition, setCondition, type Condition } from '../kube/conditions.js';
import { patchStatus } from '../kube/status.js';
import { backoffDelay } from '../util/backoff.js';
import type { ReconcileResult } from '../kube/workqueue.js';
import { addressInUse } from './address-claims.js';
import { approvalOf, grantToRecord } from './approval.js';
import { apiMessage, statusCode } from '../kube/errors.js';
import { splitKey, type ControllerContext } from './context.js';
import type { Direction, MailboxTesting, TestOutcome, TestPlan } from './mailbox-testing.js';
import { directionsOf, notRunMessage, resolveMailbox, type EffectiveMailbox } from './resolve.js';
import { rolloutSettings } from './rollout.js';
import { DIRECTION_CONDITIONS, DIRECTIONS, inCurrentBatch, isRunning, mailboxRolloutState, rolloutKey, runningDirections, UP_TO_DATE, WAITING_FOR_BATCH } from './rollout-mailbox.js';
import { cacheVersions, hashOf, profileRevision } from './rollout-revision.js';
import { TestSlots } from './rollout-slots.js';
import { secretSource } from './secret-source.js';
import { applySummary, type SummaryFailure } from './summary.js';
import { currentSyncFailure, SYNC_DIRECTIONS, syncBasis, syncedCondition } from './sync-health.js';

export { DIRECTION_CONDITIONS };
const DIRECTION_NAMES: Record<Direction, string> = { incoming: 'incoming', outgoing: 'outgoing', appointmentsContactsTasks: 'appointments, contacts and tasks' };

/**
 * The operator's own retry policy: what a Deployment's spec.retryPolicy does not set. Transient
 * failures in a row before a direction is disabled (Dynamics: 10), the back-off between them, and
 * the probes after that.
 */
export type TestPolicy = Pick<RetryPolicy, 'maxTransientFailures' | 'backoff'> & Partial<RetryPolicy>;

export const DEFAULT_TEST_POLICY: TestPolicy = DEFAULT_RETRY_POLICY;

/** A test result that could not be written is reused by the next pass for this long instead of testing again. */
const OUTCOME_REUSE_MS = 60_000;

const now = () => new Date();
const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

export function requestedDirections(e: EffectiveMailbox): Direction[] {
  return directionsOf(e);
}

type SetCondition = (type: string, status: Condition['status'], reason: string, message: string) => void;
type PendingEvent = { type: 'Normal' | 'Warning'; reason: string; message: string };
/** Why a mailbox runs its last-known-good configuration instead of the one it should run. */
interface Hold {
  reason: string;
  message: string;
  /** A retry of the failed test is planned (kstatus Reconciling); otherwise a person must act (Stalled). */
  retrying?: boolean;
}

export class MailboxReconciler {
  /** Outcomes of tests whose status write failed, reused by the next pass instead of testing again. */
  private readonly recent = new Map<string, { configHash: string; requests: string; outcomes: TestOutcome[]; at: number }>();
  private readonly defaults: RetryPolicy;

  constructor(
    private readonly ctx: ControllerContext,
    private readonly testing: MailboxTesting,
    policy: TestPolicy = DEFAULT_TEST_POLICY,
    readonly slots: TestSlots = new TestSlots(() => undefined),
  ) {
    this.defaults = { ...DEFAULT_RETRY_POLICY, ...policy };
  }

  /** A Deployment's spec.retryPolicy over the operator's defaults. */
  private policyFor(deployment: Deployment | undefined): RetryPolicy {
    return retryPolicyOf(deployment?.spec.retryPolicy, this.defaults);
  }

  async reconcile(namespace: string, name: string): Promise<ReconcileResult | void> {
    const key = `${namespace}/${name}`;
    try {
      return await this.reconcileMailbox(namespace, name, key);
    } finally {
      // A slot reserved for this mailbox but not taken goes to the next one waiting.
      this.slots.settle(key);
    }
  }

  private async reconcileMailbox(namespace: string, name: string, key: string): Promise<ReconcileResult | void> {
    const mbx = this.ctx.caches.mailboxes.get(namespace, name);
    if (!mbx || mbx.metadata.deletionTimestamp) {
      this.slots.forget(key);
      this.recent.delete(key);
      return;
    }
    const gen = mbx.metadata.generation;
    const prev: MailboxStatusT = mbx.status ?? {};
    const next: MailboxStatusT = { ...prev, observedGeneration: gen };
    let conds: Condition[] = prev.conditions ?? [];
    const set: SetCondition = (type, status, reason, message) => {
      conds = setCondition(conds, { type, status, reason, message }, gen);
    };
    const events: PendingEvent[] = [];
    let result: ReconcileResult | undefined;

    const deployment = this.ctx.caches.deployments.get(namespace, mbx.spec.deploymentRef.name);
    const policy = this.policyFor(deployment);
    const grant = grantToRecord(mbx, deployment, this.ctx.autoApproveCap);
    if (grant && (await this.recordGrant(mbx, grant))) return; // the status update re-queues this mailbox
    // Approval binds to the exact address; a changed address withdraws it.
    const approval = approvalOf(mbx, deployment);
    if (approval.withdrawn) {
      conds = removeCondition(conds, 'Approved');
      delete next.emailAddress;
      events.push({ type: 'Warning', reason: 'ApprovalWithdrawn', message: approval.withdrawn });
    }

    const resolved = resolveMailbox(mbx, this.ctx.caches);
    const res = (resolved.ok && addressInUse(mbx, this.ctx.caches, this.ctx.addressClaims)) || resolved;
    if (!res.ok) {
      // A running mailbox keeps its last-known-good configuration through a change that cannot be
      // resolved (a misnamed default profile, say); a deleted Deployment stops it, and so does
      // another Mailbox holding the address.
      const lkg = isRunning(mbx) && res.reason !== 'DeploymentNotFound' && res.reason !== 'AddressInUse' && !!this.ctx.caches.profiles.get(namespace, prev.serverProfile!);
      if (lkg) {
        delete next.targetRevision;
        set(UP_TO_DATE, 'False', res.reason, res.message);
        conds = this.summarise(mbx, runningDirections(mbx), conds, gen, approval, { hold: { reason: res.reason, message: res.message } });
      } else {
        delete next.serverProfile;
        set('Enabled', 'False', res.reason, res.message);
        set('Ready', 'False', res.reason, res.message);
        conds = removeCondition(conds, 'Reconciling');
        set('Stalled', 'True', res.reason, res.message);
      }
      next.conditions = conds;
      // Resolution is re-checked on every pass; report it once, when it changes.
      if (getCondition(prev.conditions, 'Ready')?.reason !== res.reason) events.push({ type: 'Warning', reason: res.reason, message: res.message });
      await this.write(mbx, next, events);
      return;
    }
    const eff = res.value;
    const profile = eff.profile;
    const profileName = profile.metadata.name;
    const directions = requestedDirections(eff);
    const revision = profileRevision(profile, cacheVersions(this.ctx.caches, namespace));
    // Mailboxes move only to a revision the profile reconciler has published with its spec, so a
    // sync worker can always find the spec of the revision a mailbox runs on.
    const published = profile.status?.revision === revision;
    const plan = this.testing.plan(mbx, profile, directions, secretSource(this.ctx.caches, namespace, this.ctx.clients));
    const configHash = hashOf([revision, plan.revision]);
    const state = mailboxRolloutState(mbx, { profile: profileName, revision, directions });
    const request = mbx.metadata.annotations?.[TEST_REQUESTED_AT];
    // A request on the profile tests all of its mailboxes, within its concurrency limit, queues first.
    const profileRequest = profile.metadata.annotations?.[TEST_REQUESTED_AT];
    const requested = (request !== undefined && request !== prev.testRequest) || (profileRequest !== undefined && profileRequest !== prev.profileTestRequest);
    const retryAt = prev.nextTestTime ? Date.parse(prev.nextTestTime) : undefined;
    const retryDue = retryAt !== undefined && retryAt <= Date.now();
    const slot = { group: `${namespace}/${profileName}`, key, rank: rolloutKey(mbx), limit: rolloutSettings(profile.spec).maxConcurrentTests };
    const recordTest = () => {
      next.lastTestTime = iso(now());
      next.testedRevision = revision;
      next.testedConfigHash = configHash;
      if (request !== undefined) next.testRequest = request;
      if (profileRequest !== undefined) next.profileTestRequest = profileRequest;
    };
    const switchTo = () => {
      next.serverProfile = profileName;
      next.revision = revision;
      next.configHash = configHash;
      delete next.targetRevision;
      delete next.rolloutBatch;
      set(UP_TO_DATE, 'True', 'UpToDate', `runs on revision ${revision} of profile "${profileName}"`);
    };
    const notRun = () => {
      for (const d of DIRECTIONS) if (!directions.includes(d)) set(DIRECTION_CONDITIONS[d], 'Unknown', 'NotRun', notRunMessage(d, eff));
    };

    let hold: Hold | undefined;
    let summaryDirections = directions;
    if (state.held) {
      // Runs mail on another configuration: move only when admitted, and only if the test passes.
      summaryDirections = runningDirections(mbx);
      next.targetRevision = revision;
      const testedBefore = prev.testedConfigHash === configHash; // and failed: passing would have switched
      const inBatch = published && inCurrentBatch(profile, revision, rolloutKey(mbx));
      const admitted = published && (testedBefore || inBatch);
      const due = !testedBefore || requested || retryDue;
      const outcomes = admitted && due ? await this.runTests(slot, plan, configHash, `${request}|${profileRequest}`) : undefined;
      if (outcomes) {
        if (!testedBefore) {
          next.consecutiveTransientFailures = 0;
          next.rolloutBatch = profile.status?.rollout?.batch ?? 0;
        }
        recordTest();
        if (outcomes.every((o) => o.ok)) {
          const from = prev.revision !== revision || prev.serverProfile !== profileName ? ` (from revision ${prev.revision} of profile "${prev.serverProfile}")` : '';
          const what = directions.map((d) => DIRECTION_NAMES[d]).join(', ') || 'nothing';
          const moved = { type: 'Normal' as const, reason: 'RevisionUpdated', message: `test passed; now runs ${what} on revision ${revision} of profile "${profileName}"${from}` };
          result = this.applyOutcomes(directions, outcomes, next, set, events, policy, moved);
          notRun();
          switchTo();
          summaryDirections = directions;
        } else {
          const retry = this.scheduleRetry(outcomes, next, policy);
          result = retry.retryInMs !== undefined ? { requeueAfterMs: retry.retryInMs } : undefined;
          hold = this.failedRollout(mbx, directions, outcomes, retry, revision, profileName, policy);
          set(UP_TO_DATE, 'False', hold.reason, hold.message);
          events.push({ type: 'Warning', reason: 'RolloutTestFailed', message: hold.message });
        }
      } else if (testedBefore) {
        const c = getCondition(conds, UP_TO_DATE);
        if (c && c.status === 'False' && c.reason !== WAITING_FOR_BATCH) hold = { reason: c.reason, message: c.message, retrying: retryAt !== undefined };
        if (retryAt !== undefined && !retryDue) result = { requeueAfterMs: Math.max(0, retryAt - Date.now()) };
      } else {
        set(
          UP_TO_DATE,
          'False',
          WAITING_FOR_BATCH,
          `waiting for its batch in the rollout of revision ${revision} of profile "${profileName}"; running on revision ${prev.revision} of profile "${prev.serverProfile}"`,
        );
      }
    } else {
      if (prev.targetRevision !== undefined) {
        // Back on what it should run without a test (a revert): drop the failed test's retries.
        delete next.targetRevision;
        delete next.rolloutBatch;
        if (getCondition(prev.conditions, UP_TO_DATE)?.reason !== WAITING_FOR_BATCH) {
          delete next.nextTestTime;
          next.consecutiveTransientFailures = 0;
        }
      }
      // Up to date: compare with what runs; otherwise with what was last tested.
      const baseline = state.upToDate ? prev.configHash : prev.testedConfigHash;
      const changed = configHash !== baseline || requested;
      const nextRetry = next.nextTestTime ? Date.parse(next.nextTestTime) : undefined;
      const outcomes = published && (changed || (nextRetry !== undefined && nextRetry <= Date.now())) ? await this.runTests(slot, plan, configHash, `${request}|${profileRequest}`) : undefined;
      if (outcomes) {
        if (configHash !== prev.testedConfigHash) next.consecutiveTransientFailures = 0;
        recordTest();
        result = this.applyOutcomes(directions, outcomes, next, set, events, policy);
        notRun();
        switchTo();
      } else if (nextRetry !== undefined && !changed) {
        result = { requeueAfterMs: Math.max(0, nextRetry - Date.now()) };
      } else if (state.upToDate) {
        set(UP_TO_DATE, 'True', 'UpToDate', `runs on revision ${revision} of profile "${profileName}"`);
      }
    }
    // Failures the sync worker met while running this configuration (sync-health.ts).
    const syncing = this.applySyncFailures(mbx, summaryDirections, next, conds, set, policy);
    if (syncing.probeInMs !== undefined) result ??= { requeueAfterMs: syncing.probeInMs };
    conds = this.summarise(mbx, summaryDirections, conds, gen, approval, { hold, retryingInSync: syncing.retrying, forwarded: eff.incoming === 'ForwardMailbox' });
    next.conditions = conds;
    await this.write(mbx, next, events);
    this.recent.delete(key);
    return result;
  }

  /**
   * Folds the worker's current failure records into the direction conditions. A direction whose
   * transient budget ran out during sync is probed like one that ran out in Test and Enable.
   */
  private applySyncFailures(
    mbx: Mailbox,
    directions: Direction[],
    next: MailboxStatusT,
    conds: Condition[],
    set: SetCondition,
    policy: RetryPolicy,
  ): { retrying: Set<Direction>; probeInMs?: number } {
    const retrying = new Set<Direction>();
    let probeInMs: number | undefined;
    const basis = syncBasis({ ...mbx, status: next }, this.ctx.caches);
    for (const d of SYNC_DIRECTIONS) {
      if (!directions.includes(d)) continue;
      const f = currentSyncFailure(next, d, basis);
      if (f?.exhausted && !next.nextTestTime) {
        probeInMs = backoffDelay(1, policy.probe);
        next.nextTestTime = iso(new Date(Date.now() + probeInMs));
        next.consecutiveTransientFailures = Math.max(next.consecutiveTransientFailures ?? 0, policy.maxTransientFailures);
      }
      const want = syncedCondition(getCondition(conds, DIRECTION_CONDITIONS[d]), f, DIRECTION_NAMES[d], policy, next.nextTestTime);
      if (want) set(DIRECTION_CONDITIONS[d], want.status, want.reason, want.message);
      if (f && !f.permanent && !f.exhausted) retrying.add(d);
    }
    return { retrying, probeInMs };
  }

  /**
   * Runs the plan's tests in a slot of the profile's concurrency limit; undefined when no slot is
   * free (the mailbox is woken when one is). A result whose status write failed is reused.
   */
  private async runTests(
    slot: { group: string; key: string; rank: string; limit: number },
    plan: TestPlan,
    configHash: string,
    requests: string,
  ): Promise<TestOutcome[] | undefined> {
    const cached = this.recent.get(slot.key);
    if (cached && cached.configHash === configHash && cached.requests === requests && Date.now() - cached.at < OUTCOME_REUSE_MS) return cached.outcomes;
    const release = this.slots.tryAcquire(slot.group, slot.key, slot.limit, slot.rank);
    if (!release) return undefined;
    let outcomes: TestOutcome[];
    try {
      outcomes = await Promise.all(plan.steps.map((s) => s.run()));
    } finally {
      release();
    }
    const [namespace, mailbox] = splitKey(slot.key);
    outcomes.forEach((o, i) => {
      const direction = plan.steps[i].direction;
      const result = o.ok ? 'passed' : o.permanent ? 'failed' : 'failed (transient)';
      this.ctx.logger.info({ namespace, mailbox, direction, result, reason: o.reason }, `test of ${DIRECTION_NAMES[direction]} ${result}: ${o.message}`);
    });
    this.recent.set(slot.key, { configHash, requests, outcomes, at: Date.now() });
    return outcomes;
  }

  /**
   * Counts transient failures and plans the next retry; shared by direct and rollout tests. After
   * the budget, retries become probes: first after policy.probe.baseMs, doubling up to its maxMs.
   */
  private scheduleRetry(outcomes: TestOutcome[], next: MailboxStatusT, policy: RetryPolicy): { failures: number; exhausted: boolean; retryInMs?: number } {
    const transient = outcomes.filter((o) => !o.ok && !o.permanent);
    const failures = transient.length ? (next.consecutiveTransientFailures ?? 0) + 1 : 0;
    next.consecutiveTransientFailures = failures;
    const exhausted = failures >= policy.maxTransientFailures;
    let retryInMs: number | undefined;
    if (transient.length) {
      const hinted = Math.max(0, ...transient.map((o) => o.retryAfterMs ?? 0));
      const wait = exhausted ? backoffDelay(failures - policy.maxTransientFailures + 1, policy.probe) : backoffDelay(failures, policy.backoff);
      retryInMs = Math.max(wait, hinted);
      next.nextTestTime = iso(new Date(Date.now() + retryInMs));
    } else {
      delete next.nextTestTime;
    }
    return { failures, exhausted, retryInMs };
  }

  /** Writes one condition per tested direction and decides when to retry. */
  private applyOutcomes(
    directions: Direction[],
    outcomes: TestOutcome[],
    next: MailboxStatusT,
    set: SetCondition,
    events: PendingEvent[],
    policy: RetryPolicy,
    success: PendingEvent = { type: 'Normal', reason: 'TestSucceeded', message: `Test and Enable passed: ${directions.map((d) => DIRECTION_NAMES[d]).join(', ') || 'nothing to test'}` },
  ): ReconcileResult | undefined {
    const { failures, exhausted, retryInMs } = this.scheduleRetry(outcomes, next, policy);
    directions.forEach((d, i) => {
      const o = outcomes[i];
      const type = DIRECTION_CONDITIONS[d];
      if (o.ok) {
        set(type, 'True', 'Succeeded', o.message);
      } else if (o.permanent) {
        set(type, 'False', o.reason, `${o.message}; ${DIRECTION_NAMES[d]} processing is disabled until the configuration changes or a test is requested`);
      } else if (exhausted) {
        set(type, 'False', 'TooManyTransientFailures', `gave up after ${failures} transient failures in a row; last: ${o.message}. Tested again at ${next.nextTestTime} (then at doubling intervals up to ${Math.round(policy.probe.maxMs / 60_000)} min) and re-enabled by itself when a test passes; fix the cause and request a test (annotation ${TEST_REQUESTED_AT}) to retry now`);
      } else {
        set(type, 'False', o.reason, `${o.message} (transient failure ${failures} of ${policy.maxTransientFailures}; retrying at ${next.nextTestTime})`);
      }
    });
    if (outcomes.every((o) => o.ok)) {
      events.push(success);
    } else {
      outcomes.forEach((o, i) => {
        if (!o.ok) events.push({ type: 'Warning', reason: exhausted && !o.permanent ? 'TooManyTransientFailures' : o.reason, message: `${DIRECTION_NAMES[directions[i]]}: ${o.message}` });
      });
    }
    return retryInMs !== undefined ? { requeueAfterMs: retryInMs } : undefined;
  }

  /** The UpToDate reason and message of a held mailbox whose test of the new revision failed. */
  private failedRollout(
    mbx: Mailbox,
    directions: Direction[],
    outcomes: TestOutcome[],
    retry: { failures: number; exhausted: boolean; retryInMs?: number },
    revision: string,
    profileName: string,
    policy: RetryPolicy,
  ): Hold {
    const failedAt = outcomes.map((o, i) => [o, directions[i]] as const).filter(([o]) => !o.ok);
    const [first] = failedAt[0];
    const reason = retry.exhausted && !first.permanent ? 'TooManyTransientFailures' : first.reason;
    const what = failedAt.map(([o, d]) => `${DIRECTION_NAMES[d]}: ${o.message}`).join('; ');
    const at = retry.retryInMs !== undefined ? iso(new Date(Date.now() + retry.retryInMs)) : undefined;
    const next = !at
      ? 'not retried until the configuration changes or a test is requested'
      : retry.exhausted
        ? `gave up after ${retry.failures} transient failures; tested again at ${at}`
        : `transient failure ${retry.failures} of ${policy.maxTransientFailures}, retrying at ${at}`;
    const s = mbx.status ?? {};
    return {
      reason,
      message: `${what} (test of revision ${revision} of profile "${profileName}", ${next}; still running on last-known-good revision ${s.revision} of profile "${s.serverProfile}")`,
      // A spent budget waits for a person, although it is still probed now and then.
      retrying: at !== undefined && !retry.exhausted,
    };
  }

  /**
   * Enabled and the kstatus summary (Ready, Reconciling, Stalled) from the direction conditions,
   * approval and any hold. A direction failing transiently during sync still processes (its
   * worker retries within seconds): it keeps the mailbox Enabled, but not Ready.
   */
  private summarise(
    mbx: Mailbox,
    directions: Direction[],
    conds: Condition[],
    gen: number | undefined,
    approval: ReturnType<typeof approvalOf>,
    opts: { hold?: Hold; retryingInSync?: ReadonlySet<Direction>; forwarded?: boolean } = {},
  ): Condition[] {
    const { hold } = opts;
    const inSync = opts.retryingInSync ?? new Set<Direction>();
    const entries = directions.map((d) => ({ d, c: getCondition(conds, DIRECTION_CONDITIONS[d]) }));
    const failed = entries.filter((e) => e.c && e.c.status !== 'True') as { d: Direction; c: Condition }[];
    const passed = entries.filter((e) => e.c?.status === 'True');
    const processing = entries.filter((e) => e.c?.status === 'True' || inSync.has(e.d));
    const names = (list: { d: Direction }[]) => list.map((e) => DIRECTION_NAMES[e.d]).join(', ');
    let enabled: [Condition['status'], string, string];
    if (mbx.spec.suspended) enabled = ['False', 'Suspended', 'spec.suspended is true'];
    else if (approval.state === 'Denied') enabled = ['False', 'Denied', approval.message];
    else if (approval.state === 'Pending') enabled = ['False', 'AwaitingApproval', approval.message];
    else if (!directions.length && opts.forwarded) enabled = ['True', 'ThroughForwardMailbox', "incoming mail reaches the CRM through its Deployment's forward mailbox (delivery method ForwardMailbox); nothing else to sync"];
    else if (!directions.length) enabled = ['False', 'NothingToSync', 'every delivery method is None'];
    else if (!failed.length && !passed.length) enabled = ['False', 'TestPending', 'waiting for Test and Enable (spec.rollout.maxConcurrentTests of its profile limits tests at once)'];
    else if (!failed.length) enabled = ['True', 'Enabled', `processing ${names(entries)}`];
    else if (processing.length === entries.length) enabled = ['True', 'Enabled', `processing ${names(entries)}; retrying ${names(failed)} after a transient sync failure`];
    else if (processing.length) enabled = ['True', 'PartiallyEnabled', `processing ${names(processing)} only`];
    else enabled = ['False', failed[0].c.reason, failed[0].c.message];
    if (hold && enabled[0] === 'True') {
      const s = mbx.status ?? {};
      enabled = ['True', 'RunningLastKnownGood', `${enabled[2]} on last-known-good revision ${s.revision} of profile "${s.serverProfile}"; the new configuration is not used: ${hold.message}`];
    }
    const out = setCondition(conds, { type: 'Enabled', status: enabled[0], reason: enabled[1], message: enabled[2] }, gen);
    const first = failed[0]?.c;
    const ready =
      enabled[0] === 'True' && !failed.length && !hold
        ? { status: 'True' as const, reason: 'Ready', message: enabled[2] }
        : hold && enabled[0] === 'True'
          ? { status: 'False' as const, reason: hold.reason, message: enabled[2] }
          : first && enabled[1] !== 'Suspended'
            ? { status: 'False' as const, reason: first.reason, message: first.message }
            : { status: 'False' as const, reason: enabled[1], message: enabled[2] };
    // What waits for a person wins over what is retried; a held mailbox's failed test counts as
    // the direction failures do.
    const permanent = failed.find((e) => isPermanentReason(e.c.reason));
    const failure: SummaryFailure | undefined = permanent
      ? { reason: permanent.c.reason, message: permanent.c.message, retrying: false }
      : hold && !hold.retrying
        ? { ...hold, retrying: false }
        : failed.length
          ? { reason: failed[0].c.reason, message: failed[0].c.message, retrying: true }
          : hold?.retrying
            ? { ...hold, retrying: true }
            : undefined;
    const syncRetry = !permanent && failed.length > 0 && failed.every((e) => inSync.has(e.d));
    const reconciling = syncRetry ? { reason: 'RetryingSync', message: `${names(failed)} sync is retried within seconds by its worker` } : { reason: 'RetryingTest', message: 'a transient failure is being retried' };
    return applySummary(out, gen, { ready, failure, ...(failure ? { reconciling } : {}) });
  }

  /**
   * Writes an approval or denial on its own, so that a refusal at admission (the operator lacks
   * the approve verb) does not block the rest of the status. Returns true when it was written.
   */
  private async recordGrant(mbx: Mailbox, grant: { type: 'Approved' | 'Denied'; reason: string; message: string }): Promise<boolean> {
    const other = grant.type === 'Approved' ? 'Denied' : 'Approved';
    const conditions = setCondition(removeCondition(mbx.status?.conditions, other), { type: grant.type, status: 'True', reason: grant.reason, message: grant.message }, mbx.metadata.generation);
    const next = { ...(mbx.status ?? {}), conditions, emailAddress: mbx.spec.emailAddress };
    try {
      await patchStatus(this.ctx.clients, { ...RESOURCES.mailboxes, namespace: mbx.metadata.namespace, name: mbx.metadata.name, resourceVersion: mbx.metadata.resourceVersion }, mbx.status, next);
    } catch (err) {
      const code = statusCode(err);
      if (code !== 403 && code !== 422 && code !== 400) throw err;
      const msg = `could not record ${grant.type.toLowerCase()} (${grant.reason}): ${apiMessage(err)}`;
      this.ctx.logger.warn({ namespace: mbx.metadata.namespace, mailbox: mbx.metadata.name }, msg);
      await this.ctx.events.record(mbx, 'Warning', `${grant.reason}Forbidden`, msg);
      return false;
    }
    await this.ctx.events.record(mbx, grant.type === 'Approved' ? 'Normal' : 'Warning', grant.reason, grant.message);
    return true;
  }

  /** Patches status when it changed and records the events gathered during the reconcile. */
  private async write(mbx: Mailbox, next: MailboxStatusT, events: PendingEvent[]): Promise<void> {
    const before = getCondition(mbx.status?.conditions, 'Ready');
    const after = getCondition(next.conditions, 'Ready');
    await patchStatus(
      this.ctx.clients,
      { ...RESOURCES.mailboxes, namespace: mbx.metadata.namespace, name: mbx.metadata.name, resourceVersion: mbx.metadata.resourceVersion },
      mbx.status,
      next,
    );
    for (const e of events) await this.ctx.events.record(mbx, e.type, e.reason, e.message);
    const readyChanged = before?.status !== after?.status || before?.reason !== after?.reason;
    const enabled = [getCondition(mbx.status?.conditions, 'Enabled'), getCondition(next.conditions, 'Enabled')];
    if (readyChanged || enabled[0]?.status !== enabled[1]?.status || enabled[0]?.reason !== enabled[1]?.reason) {
      // The mailbox's state changed: one line an operator can follow (and grep by reason).
      this.ctx.logger.info(
        { namespace: mbx.metadata.namespace, mailbox: mbx.metadata.name, ready: after?.status, reason: after?.reason, enabled: enabled[1]?.status, enabledReason: enabled[1]?.reason },
        `mailbox Ready ${before?.status ?? '(none)'} -> ${after?.status} (${after?.reason}): ${after?.message}`,
      );
    }
    if (readyChanged && after?.status === 'True' && !events.some((e) => e.type === 'Normal')) {
      await this.ctx.events.record(mbx, 'Normal', 'Ready', after.message);
    }
  }
}

