// MailboxReconciler: resolves a Mailbox's Deployment and profile (with defaults), runs Test and
// Enable when the configuration changed or a test was requested, retries transient failures
// with backoff up to a budget, and summarises everything as conditions:
//   IncomingEmailReady / OutgoingEmailReady / AppointmentsContactsTasksReady  (test results)
//   Approved / Denied (set by approvers; withdrawn here when the address changes)
//   Enabled (processing is on), Ready (summary), Reconciling / Stalled (kstatus),
//   UpToDate (whether it runs the current revision of its profile; see below).
// Mail-server tests plug in through MailboxTesting, so this file knows nothing of IMAP or EWS.
//
// A reconcile is a list of named steps over one working state (MailboxWork), as Flux's
// source-controller runs its sub-reconcilers: approval, resolve, test, hold for rollout, sync
// failures. Each step may end the list early; then the summary (mailbox-summary.ts, pure) and one
// status patch run once, at the end, whatever happened.
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

import { DEFAULT_RETRY_POLICY, retryPolicyOf, type RetryPolicy } from '../api/retry-policy.js';
import type { Deployment, EmailServerProfile, Mailbox, MailboxStatusT } from '../api/types.js';
import { RESOURCES, TEST_REQUESTED_AT } from '../api/types.js';
import { cacheVersions, hashOf, profileRevision } from '../domain/revision.js';
import { secretSource } from '../domain/secret-source.js';
import { currentSyncFailure, SYNC_DIRECTIONS, syncBasis } from '../domain/sync-failure.js';
import type { Direction, MailboxTesting, TestOutcome, TestPlan } from '../domain/testing-ports.js';
import { getCondition, removeCondition, setCondition, type Condition } from '../kube/conditions.js';
import { apiMessage, statusCode } from '../kube/errors.js';
import { patchStatus } from '../kube/status.js';
import type { ReconcileResult } from '../kube/workqueue.js';
import { backoffDelay } from '../util/backoff.js';
import { addressInUse } from './address-claims.js';
import { approvalOf, grantToRecord, type ApprovalState } from '../domain/approval.js';
import { splitKey, type ControllerContext } from './context.js';
import { failedRollout, iso, recordOutcomes, scheduleRetry, type PendingEvent } from './mailbox-outcomes.js';
import { DIRECTION_NAMES, summariseMailbox, type Hold } from './mailbox-summary.js';
import type { DeliveryMethods } from '../domain/delivery-methods.js';
import { directionsOf, notRunMessage, resolveMailbox } from './resolve.js';
import { rolloutSettings } from './rollout.js';
import {
  DIRECTION_CONDITIONS,
  DIRECTIONS,
  inCurrentBatch,
  isRunning,
  mailboxRolloutState,
  rolloutKey,
  runningDirections,
  UP_TO_DATE,
  WAITING_FOR_BATCH,
  type MailboxRolloutState,
} from './rollout-mailbox.js';
import { TestSlots } from './rollout-slots.js';
import { syncedCondition } from './sync-health.js';
import { recordIncomingStart } from './incoming-start.js';

export { DIRECTION_CONDITIONS };

/**
 * The operator's own retry policy: what a Deployment's spec.retryPolicy does not set. Transient
 * failures in a row before a direction is disabled (Dynamics: 10), the back-off between them, and
 * the probes after that.
 */
export type TestPolicy = Pick<RetryPolicy, 'maxTransientFailures' | 'backoff'> & Partial<RetryPolicy>;

export const DEFAULT_TEST_POLICY: TestPolicy = DEFAULT_RETRY_POLICY;

/** A test result that could not be written, or a passed one the watch has not delivered yet, is reused by the next pass for this long instead of testing again. */
const OUTCOME_REUSE_MS = 60_000;

/** What the mailbox should run, once its Deployment and profile are resolved. */
interface Target {
  profile: EmailServerProfile;
  profileName: string;
  directions: Direction[];
  /** The delivery methods after the Deployment's defaults (why a direction is not run). */
  methods: DeliveryMethods;
  revision: string;
  /** The profile reconciler has published this revision with its spec (sync workers can find it). */
  published: boolean;
  plan: TestPlan;
  configHash: string;
  state: MailboxRolloutState;
  /** A test request (on the mailbox or its profile) not yet answered. */
  requested: boolean;
  /** The requests a test answers, recorded with it. */
  request?: string;
  profileRequest?: string;
  slot: { group: string; key: string; rank: string; limit: number };
}

/** The working state of one reconcile: read at the start, written once at the end. */
interface MailboxWork {
  readonly mbx: Mailbox;
  readonly key: string;
  readonly prev: MailboxStatusT;
  /** The status to write, built up by the steps. */
  readonly next: MailboxStatusT;
  conditions: Condition[];
  readonly events: PendingEvent[];
  result?: ReconcileResult;
  readonly deployment?: Deployment;
  readonly policy: RetryPolicy;
  approval: ApprovalState;
  target?: Target;
  /** The directions the summary describes: those of the configuration that runs. */
  running: Direction[];
  hold?: Hold;
  retryingInSync: Set<Direction>;
  /** The mailbox cannot run at all: the summary says why and nothing else. */
  stopped?: { reason: string; message: string };
}

/** `next`: go on; `summarise`: skip the remaining steps; `abort`: end without writing (another write re-queues). */
type StepResult = 'next' | 'summarise' | 'abort';
type Step = (w: MailboxWork) => StepResult | Promise<StepResult>;

export class MailboxReconciler {
  /** Outcomes of tests whose status write failed, reused by the next pass instead of testing again. */
  private readonly recent = new Map<string, { configHash: string; requests: string; outcomes: TestOutcome[]; at: number }>();
  private readonly defaults: RetryPolicy;

  /** The steps of a reconcile, in order. */
  private readonly steps: readonly (readonly [string, Step])[] = [
    ['approval', (w) => this.approval(w)],
    ['resolve', (w) => this.resolve(w)],
    ['test', (w) => this.test(w)],
    ['hold for rollout', (w) => this.holdForRollout(w)],
    ['sync failures', (w) => this.syncFailures(w)],
  ];

  constructor(
    private readonly ctx: ControllerContext,
    private readonly testing: MailboxTesting,
    policy: TestPolicy = DEFAULT_TEST_POLICY,
    readonly slots: TestSlots = new TestSlots(() => undefined),
  ) {
    this.defaults = { ...DEFAULT_RETRY_POLICY, ...policy };
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
    const prev: MailboxStatusT = mbx.status ?? {};
    const deployment = this.ctx.caches.deployments.get(namespace, mbx.spec.deploymentRef.name);
    const w: MailboxWork = {
      mbx,
      key,
      prev,
      next: { ...prev, observedGeneration: mbx.metadata.generation },
      conditions: prev.conditions ?? [],
      events: [],
      deployment,
      // A Deployment's spec.retryPolicy over the operator's defaults.
      policy: retryPolicyOf(deployment?.spec.retryPolicy, this.defaults),
      approval: approvalOf(mbx, deployment),
      running: [],
      retryingInSync: new Set(),
    };
    for (const [, step] of this.steps) {
      const r = await step(w);
      if (r === 'abort') return;
      if (r === 'summarise') break;
    }
    // The deferred summarise-and-patch: once per reconcile, whatever the steps did.
    w.next.conditions = summariseMailbox({
      conditions: w.conditions,
      generation: mbx.metadata.generation,
      suspended: !!mbx.spec.suspended,
      approval: w.approval,
      directions: w.running,
      lastKnownGood: prev,
      hold: w.hold,
      retryingInSync: w.retryingInSync,
      stopped: w.stopped,
      forwarded: w.target?.methods.incoming === 'ForwardMailbox',
    });
    if (w.target && w.deployment) recordIncomingStart(mbx, w.target.profile, w.deployment, w.next, w.next.conditions);
    await this.write(mbx, w.next, w.events);
    // A passed test stays reusable after its write: until the watch delivers that write, a reconcile
    // of this mailbox reads the status from before the test and would test it again. A failed one
    // is forgotten, so that its retry really tests.
    if (!this.recent.get(key)?.outcomes.every((o) => o.ok)) this.recent.delete(key);
    return w.result;
  }

  private set(w: MailboxWork, type: string, status: Condition['status'], reason: string, message: string): void {
    w.conditions = setCondition(w.conditions, { type, status, reason, message }, w.mbx.metadata.generation);
  }

  /** Approval: record a declarative or automatic grant on its own; withdraw an approval of another address. */
  private async approval(w: MailboxWork): Promise<StepResult> {
    const grant = grantToRecord(w.mbx, w.deployment, this.ctx.autoApproveCap);
    if (grant && (await this.recordGrant(w.mbx, grant))) return 'abort'; // the status update re-queues this mailbox
    // Approval binds to the exact address; a changed address withdraws it.
    if (w.approval.withdrawn) {
      w.conditions = removeCondition(w.conditions, 'Approved');
      delete w.next.emailAddress;
      w.events.push({ type: 'Warning', reason: 'ApprovalWithdrawn', message: w.approval.withdrawn });
    }
    return 'next';
  }

  /** Resolve: the Deployment, the profile after defaults, the revision to run and the test plan. */
  private resolve(w: MailboxWork): StepResult {
    const { mbx, prev, next } = w;
    const namespace = mbx.metadata.namespace;
    const resolved = resolveMailbox(mbx, this.ctx.caches);
    const res = (resolved.ok && addressInUse(mbx, this.ctx.caches, this.ctx.addressClaims)) || resolved;
    if (!res.ok) {
      // A running mailbox keeps its last-known-good configuration through a change that cannot be
      // resolved (a misnamed default profile, say); a deleted Deployment stops it, and so does
      // another Mailbox holding the address.
      const lkg =
        isRunning(mbx) &&
        res.reason !== 'DeploymentNotFound' &&
        res.reason !== 'AddressInUse' &&
        !!this.ctx.caches.profiles.get(namespace, prev.serverProfile!);
      if (lkg) {
        delete next.targetRevision;
        this.set(w, UP_TO_DATE, 'False', res.reason, res.message);
        w.running = runningDirections(mbx);
        w.hold = { reason: res.reason, message: res.message };
      } else {
        delete next.serverProfile;
        w.stopped = { reason: res.reason, message: res.message };
      }
      // Resolution is re-checked on every pass; report it once, when it changes.
      if (getCondition(prev.conditions, 'Ready')?.reason !== res.reason)
        w.events.push({ type: 'Warning', reason: res.reason, message: res.message });
      return 'summarise';
    }
    const profile = res.value.profile;
    const profileName = profile.metadata.name;
    const directions = directionsOf(res.value);
    const revision = profileRevision(profile, cacheVersions(this.ctx.caches, namespace));
    const plan = this.testing.plan(
      mbx,
      profile,
      directions,
      secretSource(this.ctx.caches, namespace, this.ctx.clients),
      res.value.deployment,
    );
    const request = mbx.metadata.annotations?.[TEST_REQUESTED_AT];
    // A request on the profile tests all of its mailboxes, within its concurrency limit, queues first.
    const profileRequest = profile.metadata.annotations?.[TEST_REQUESTED_AT];
    w.target = {
      profile,
      profileName,
      directions,
      methods: res.value,
      revision,
      // Mailboxes move only to a revision the profile reconciler has published with its spec, so a
      // sync worker can always find the spec of the revision a mailbox runs on.
      published: profile.status?.revision === revision,
      plan,
      configHash: hashOf([revision, plan.revision]),
      state: mailboxRolloutState(mbx, { profile: profileName, revision, directions }),
      requested:
        (request !== undefined && request !== prev.testRequest) ||
        (profileRequest !== undefined && profileRequest !== prev.profileTestRequest),
      request,
      profileRequest,
      slot: {
        group: `${namespace}/${profileName}`,
        key: w.key,
        rank: rolloutKey(mbx),
        limit: rolloutSettings(profile.spec).maxConcurrentTests,
      },
    };
    w.running = directions;
    return 'next';
  }

  /** Test: a mailbox that is not held is tested when its configuration changed, a test is requested or a retry is due, and switches at once. */
  private async test(w: MailboxWork): Promise<StepResult> {
    const t = w.target!;
    if (t.state.held) return 'next';
    const { prev, next } = w;
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
    const baseline = t.state.upToDate ? prev.configHash : prev.testedConfigHash;
    const changed = t.configHash !== baseline || t.requested;
    const nextRetry = next.nextTestTime ? Date.parse(next.nextTestTime) : undefined;
    const due = changed || (nextRetry !== undefined && nextRetry <= Date.now());
    const outcomes = t.published && due ? await this.runTests(t) : undefined;
    if (outcomes) {
      if (t.configHash !== prev.testedConfigHash) next.consecutiveTransientFailures = 0;
      this.applyOutcomes(w, outcomes);
      this.switchTo(w);
    } else if (nextRetry !== undefined && !changed) {
      w.result = { requeueAfterMs: Math.max(0, nextRetry - Date.now()) };
    } else if (t.state.upToDate) {
      this.set(w, UP_TO_DATE, 'True', 'UpToDate', `runs on revision ${t.revision} of profile "${t.profileName}"`);
    }
    return 'next';
  }

  /** Hold for rollout: a held mailbox moves only when its batch admits it, and only if its test passes. */
  private async holdForRollout(w: MailboxWork): Promise<StepResult> {
    const t = w.target!;
    if (!t.state.held) return 'next';
    const { mbx, prev, next } = w;
    w.running = runningDirections(mbx);
    next.targetRevision = t.revision;
    const retryAt = prev.nextTestTime ? Date.parse(prev.nextTestTime) : undefined;
    const retryDue = retryAt !== undefined && retryAt <= Date.now();
    const testedBefore = prev.testedConfigHash === t.configHash; // and failed: passing would have switched
    const admitted = t.published && (testedBefore || inCurrentBatch(t.profile, t.revision, rolloutKey(mbx)));
    const due = !testedBefore || t.requested || retryDue;
    const outcomes = admitted && due ? await this.runTests(t) : undefined;
    if (outcomes) {
      if (!testedBefore) {
        next.consecutiveTransientFailures = 0;
        next.rolloutBatch = t.profile.status?.rollout?.batch ?? 0;
      }
      if (outcomes.every((o) => o.ok)) {
        const from =
          prev.revision !== t.revision || prev.serverProfile !== t.profileName
            ? ` (from revision ${prev.revision} of profile "${prev.serverProfile}")`
            : '';
        const what = t.directions.map((d) => DIRECTION_NAMES[d]).join(', ') || 'nothing';
        this.applyOutcomes(w, outcomes, {
          type: 'Normal',
          reason: 'RevisionUpdated',
          message: `test passed; now runs ${what} on revision ${t.revision} of profile "${t.profileName}"${from}`,
        });
        this.switchTo(w);
        w.running = t.directions;
      } else {
        this.recordTest(w);
        const retry = scheduleRetry(outcomes, next, w.policy);
        w.result = retry.retryInMs !== undefined ? { requeueAfterMs: retry.retryInMs } : undefined;
        w.hold = failedRollout(t.directions, outcomes, retry, { revision: t.revision, profile: t.profileName }, prev, w.policy);
        this.set(w, UP_TO_DATE, 'False', w.hold.reason, w.hold.message);
        w.events.push({ type: 'Warning', reason: 'RolloutTestFailed', message: w.hold.message });
      }
    } else if (testedBefore) {
      const c = getCondition(w.conditions, UP_TO_DATE);
      if (c && c.status === 'False' && c.reason !== WAITING_FOR_BATCH)
        w.hold = { reason: c.reason, message: c.message, retrying: retryAt !== undefined };
      if (retryAt !== undefined && !retryDue) w.result = { requeueAfterMs: Math.max(0, retryAt - Date.now()) };
    } else {
      this.set(
        w,
        UP_TO_DATE,
        'False',
        WAITING_FOR_BATCH,
        `waiting for its batch in the rollout of revision ${t.revision} of profile "${t.profileName}"; running on revision ${prev.revision} of profile "${prev.serverProfile}"`,
      );
    }
    return 'next';
  }

  /**
   * Sync failures: folds the worker's current failure records (domain/sync-failure.ts) into the
   * direction conditions. A direction whose transient budget ran out during sync is probed like
   * one that ran out in Test and Enable.
   */
  private syncFailures(w: MailboxWork): StepResult {
    const { next, policy } = w;
    const basis = syncBasis({ ...w.mbx, status: next }, this.ctx.caches);
    for (const d of SYNC_DIRECTIONS) {
      if (!w.running.includes(d)) continue;
      const f = currentSyncFailure(next, d, basis);
      if (f?.exhausted && !next.nextTestTime) {
        const probeInMs = backoffDelay(1, policy.probe);
        next.nextTestTime = iso(new Date(Date.now() + probeInMs));
        next.consecutiveTransientFailures = Math.max(next.consecutiveTransientFailures ?? 0, policy.maxTransientFailures);
        w.result ??= { requeueAfterMs: probeInMs };
      }
      const want = syncedCondition(getCondition(w.conditions, DIRECTION_CONDITIONS[d]), f, DIRECTION_NAMES[d], policy, next.nextTestTime);
      if (want) this.set(w, DIRECTION_CONDITIONS[d], want.status, want.reason, want.message);
      if (f && !f.permanent && !f.exhausted) w.retryingInSync.add(d);
    }
    return 'next';
  }

  /** Records that the target configuration was tested, and which requests the test answered. */
  private recordTest(w: MailboxWork): void {
    const t = w.target!;
    w.next.lastTestTime = iso(new Date());
    w.next.testedRevision = t.revision;
    w.next.testedConfigHash = t.configHash;
    if (t.request !== undefined) w.next.testRequest = t.request;
    if (t.profileRequest !== undefined) w.next.profileTestRequest = t.profileRequest;
  }

  /** A test whose outcomes become the direction conditions: retry schedule, conditions, Events. */
  private applyOutcomes(w: MailboxWork, outcomes: TestOutcome[], success?: PendingEvent): void {
    const t = w.target!;
    this.recordTest(w);
    const retry = scheduleRetry(outcomes, w.next, w.policy);
    recordOutcomes(t.directions, outcomes, retry, w.next.nextTestTime, w.policy, (...c) => this.set(w, ...c), w.events, success);
    if (retry.retryInMs !== undefined) w.result = { requeueAfterMs: retry.retryInMs };
    for (const d of DIRECTIONS) {
      if (!t.directions.includes(d)) this.set(w, DIRECTION_CONDITIONS[d], 'Unknown', 'NotRun', notRunMessage(d, t.methods));
    }
  }

  /** The tested configuration is the one that runs now. */
  private switchTo(w: MailboxWork): void {
    const t = w.target!;
    w.next.serverProfile = t.profileName;
    w.next.revision = t.revision;
    w.next.configHash = t.configHash;
    delete w.next.targetRevision;
    delete w.next.rolloutBatch;
    this.set(w, UP_TO_DATE, 'True', 'UpToDate', `runs on revision ${t.revision} of profile "${t.profileName}"`);
  }

  /**
   * Runs the plan's tests in a slot of the profile's concurrency limit; undefined when no slot is
   * free (the mailbox is woken when one is). A result whose status write failed is reused.
   */
  private async runTests(t: Target): Promise<TestOutcome[] | undefined> {
    const { slot, plan, configHash } = t;
    const requests = `${t.request}|${t.profileRequest}`;
    const cached = this.recent.get(slot.key);
    if (cached && cached.configHash === configHash && cached.requests === requests && Date.now() - cached.at < OUTCOME_REUSE_MS)
      return cached.outcomes;
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
      this.ctx.logger.info(
        { namespace, mailbox, direction, result, reason: o.reason },
        `test of ${DIRECTION_NAMES[direction]} ${result}: ${o.message}`,
      );
    });
    this.recent.set(slot.key, { configHash, requests, outcomes, at: Date.now() });
    return outcomes;
  }

  /**
   * Writes an approval or denial on its own, so that a refusal at admission (the operator lacks
   * the approve verb) does not block the rest of the status. Returns true when it was written.
   */
  private async recordGrant(mbx: Mailbox, grant: { type: 'Approved' | 'Denied'; reason: string; message: string }): Promise<boolean> {
    const other = grant.type === 'Approved' ? 'Denied' : 'Approved';
    const conditions = setCondition(
      removeCondition(mbx.status?.conditions, other),
      { type: grant.type, status: 'True', reason: grant.reason, message: grant.message },
      mbx.metadata.generation,
    );
    const next = { ...(mbx.status ?? {}), conditions, emailAddress: mbx.spec.emailAddress };
    try {
      await patchStatus(
        this.ctx.clients,
        {
          ...RESOURCES.mailboxes,
          namespace: mbx.metadata.namespace,
          name: mbx.metadata.name,
          resourceVersion: mbx.metadata.resourceVersion,
        },
        mbx.status,
        next,
      );
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
        {
          namespace: mbx.metadata.namespace,
          mailbox: mbx.metadata.name,
          ready: after?.status,
          reason: after?.reason,
          enabled: enabled[1]?.status,
          enabledReason: enabled[1]?.reason,
        },
        `mailbox Ready ${before?.status ?? '(none)'} -> ${after?.status} (${after?.reason}): ${after?.message}`,
      );
    }
    if (readyChanged && after?.status === 'True' && !events.some((e) => e.type === 'Normal')) {
      await this.ctx.events.record(mbx, 'Normal', 'Ready', after.message);
    }
  }
}
