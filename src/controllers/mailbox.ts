// MailboxReconciler: resolves a Mailbox's Deployment and profile (with defaults), runs Test and
// Enable when the configuration changed or a test was requested, retries transient failures
// with backoff up to a budget, and summarises everything as conditions:
//   IncomingEmailReady / OutgoingEmailReady / AppointmentsContactsTasksReady  (test results)
//   Approved / Denied (set by approvers; withdrawn here when the address changes)
//   Enabled (processing is on), Ready (summary), Reconciling / Stalled (kstatus).
// Mail-server tests plug in through MailboxTesting, so this file knows nothing of IMAP or EWS.

import type { Deployment, Mailbox, MailboxStatusT } from '../api/types.js';
import { RESOURCES, TEST_REQUESTED_AT } from '../api/types.js';
import { getCondition, removeCondition, setCondition, type Condition } from '../kube/conditions.js';
import { patchStatus } from '../kube/status.js';
import { backoffDelay, type Backoff, type ReconcileResult } from '../kube/workqueue.js';
import { approvalOf, grantToRecord } from './approval.js';
import { apiMessage, statusCode } from '../kube/errors.js';
import type { ControllerContext } from './context.js';
import type { Direction, MailboxTesting, SecretSource, TestOutcome } from './mailbox-testing.js';
import { resolveMailbox, type EffectiveMailbox } from './resolve.js';

export const DIRECTION_CONDITIONS: Record<Direction, string> = {
  incoming: 'IncomingEmailReady',
  outgoing: 'OutgoingEmailReady',
  appointmentsContactsTasks: 'AppointmentsContactsTasksReady',
};
const DIRECTION_NAMES: Record<Direction, string> = { incoming: 'incoming', outgoing: 'outgoing', appointmentsContactsTasks: 'appointments, contacts and tasks' };

export interface TestPolicy {
  /** Transient failures in a row before a direction is disabled (Dynamics: 10). */
  maxTransientFailures: number;
  backoff: Backoff;
}

export const DEFAULT_TEST_POLICY: TestPolicy = { maxTransientFailures: 10, backoff: { baseMs: 30_000, maxMs: 30 * 60_000, jitter: 0.2 } };

const now = () => new Date();
const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

export function requestedDirections(e: EffectiveMailbox): Direction[] {
  const out: Direction[] = [];
  if (e.incoming !== 'None') out.push('incoming');
  if (e.outgoing === 'ServerSideSync') out.push('outgoing');
  if (e.appointmentsContactsTasks === 'ServerSideSync') out.push('appointmentsContactsTasks');
  return out;
}

export class MailboxReconciler {
  constructor(
    private readonly ctx: ControllerContext,
    private readonly testing: MailboxTesting,
    private readonly policy: TestPolicy = DEFAULT_TEST_POLICY,
  ) {}

  private lookups(namespace: string): SecretSource {
    const decode = (data: Record<string, string> | undefined, b64: boolean) =>
      Object.fromEntries(Object.entries(data ?? {}).map(([k, v]) => [k, b64 ? Buffer.from(v, 'base64').toString('utf8') : v]));
    return {
      secret: (name) => {
        const s = this.ctx.caches.secrets.get(namespace, name);
        return s && { data: decode(s.data, true), resourceVersion: s.metadata.resourceVersion ?? '' };
      },
      configMap: (name) => {
        const c = this.ctx.caches.configMaps.get(namespace, name);
        return c && { data: decode(c.data, false), resourceVersion: c.metadata?.resourceVersion ?? '' };
      },
    };
  }

  async reconcile(namespace: string, name: string): Promise<ReconcileResult | void> {
    const mbx = this.ctx.caches.mailboxes.get(namespace, name);
    if (!mbx || mbx.metadata.deletionTimestamp) return;
    const gen = mbx.metadata.generation;
    const prev: MailboxStatusT = mbx.status ?? {};
    const next: MailboxStatusT = { ...prev, observedGeneration: gen };
    let conds: Condition[] = prev.conditions ?? [];
    const set = (type: string, status: Condition['status'], reason: string, message: string) => {
      conds = setCondition(conds, { type, status, reason, message }, gen);
    };
    const events: { type: 'Normal' | 'Warning'; reason: string; message: string }[] = [];
    let result: ReconcileResult | undefined;

    const deployment = this.ctx.caches.deployments.get(namespace, mbx.spec.deploymentRef.name);
    const grant = grantToRecord(mbx, deployment);
    if (grant && (await this.recordGrant(mbx, grant))) return; // the status update re-queues this mailbox
    // Approval binds to the exact address; a changed address withdraws it.
    const approval = approvalOf(mbx, deployment);
    if (approval.withdrawn) {
      conds = removeCondition(conds, 'Approved');
      delete next.emailAddress;
      events.push({ type: 'Warning', reason: 'ApprovalWithdrawn', message: approval.withdrawn });
    }

    const res = resolveMailbox(mbx, this.ctx.caches);
    if (!res.ok) {
      delete next.serverProfile;
      set('Enabled', 'False', res.reason, res.message);
      set('Ready', 'False', res.reason, res.message);
      conds = removeCondition(conds, 'Reconciling');
      set('Stalled', 'True', res.reason, res.message);
      next.conditions = conds;
      // Resolution is re-checked on every pass; report it once, when it changes.
      if (getCondition(prev.conditions, 'Ready')?.reason !== res.reason) events.push({ type: 'Warning', reason: res.reason, message: res.message });
      await this.write(mbx, next, events);
      return;
    }
    const eff = res.value;
    next.serverProfile = eff.profile.metadata.name;
    const directions = requestedDirections(eff);
    const plan = this.testing.plan(mbx, eff.profile, directions, this.lookups(namespace));
    const request = mbx.metadata.annotations?.[TEST_REQUESTED_AT];

    const changed = plan.revision !== prev.testedRevision || (request !== undefined && request !== prev.testRequest);
    const retryAt = prev.nextTestTime ? Date.parse(prev.nextTestTime) : undefined;
    if (changed || (retryAt !== undefined && retryAt <= Date.now())) {
      if (changed) next.consecutiveTransientFailures = 0;
      const outcomes = await Promise.all(plan.steps.map((s) => s.run()));
      next.lastTestTime = iso(now());
      next.testedRevision = plan.revision;
      if (request !== undefined) next.testRequest = request;
      result = this.applyOutcomes(directions, outcomes, next, set, events);
    } else if (retryAt !== undefined) {
      result = { requeueAfterMs: Math.max(0, retryAt - Date.now()) };
    }
    for (const d of Object.keys(DIRECTION_CONDITIONS) as Direction[]) {
      if (!directions.includes(d)) set(DIRECTION_CONDITIONS[d], 'Unknown', 'NotRun', `${DIRECTION_NAMES[d]} delivery method is None`);
    }
    conds = this.summarise(mbx, deployment, directions, conds, gen, approval);
    next.conditions = conds;
    await this.write(mbx, next, events);
    return result;
  }

  /** Writes one condition per tested direction and decides when to retry. */
  private applyOutcomes(
    directions: Direction[],
    outcomes: TestOutcome[],
    next: MailboxStatusT,
    set: (type: string, status: Condition['status'], reason: string, message: string) => void,
    events: { type: 'Normal' | 'Warning'; reason: string; message: string }[],
  ): ReconcileResult | undefined {
    const transient = outcomes.filter((o) => !o.ok && !o.permanent);
    const failures = transient.length ? (next.consecutiveTransientFailures ?? 0) + 1 : 0;
    next.consecutiveTransientFailures = failures;
    const exhausted = failures >= this.policy.maxTransientFailures;
    let retryInMs: number | undefined;
    if (transient.length && !exhausted) {
      const hinted = Math.max(0, ...transient.map((o) => o.retryAfterMs ?? 0));
      retryInMs = Math.max(backoffDelay(failures, this.policy.backoff), hinted);
      next.nextTestTime = iso(new Date(Date.now() + retryInMs));
    } else {
      delete next.nextTestTime;
    }
    directions.forEach((d, i) => {
      const o = outcomes[i];
      const type = DIRECTION_CONDITIONS[d];
      if (o.ok) {
        set(type, 'True', 'Succeeded', o.message);
      } else if (o.permanent) {
        set(type, 'False', o.reason, `${o.message}; ${DIRECTION_NAMES[d]} processing is disabled until the configuration changes or a test is requested`);
      } else if (exhausted) {
        set(type, 'False', 'TooManyTransientFailures', `gave up after ${failures} transient failures in a row; last: ${o.message}. Fix the cause and request a test (annotation ${TEST_REQUESTED_AT})`);
      } else {
        set(type, 'False', o.reason, `${o.message} (transient failure ${failures} of ${this.policy.maxTransientFailures}; retrying at ${next.nextTestTime})`);
      }
    });
    if (outcomes.every((o) => o.ok)) {
      next.revision = next.testedRevision;
      events.push({ type: 'Normal', reason: 'TestSucceeded', message: `Test and Enable passed: ${directions.map((d) => DIRECTION_NAMES[d]).join(', ') || 'nothing to test'}` });
    } else {
      outcomes.forEach((o, i) => {
        if (!o.ok) events.push({ type: 'Warning', reason: exhausted && !o.permanent ? 'TooManyTransientFailures' : o.reason, message: `${DIRECTION_NAMES[directions[i]]}: ${o.message}` });
      });
    }
    return retryInMs !== undefined ? { requeueAfterMs: retryInMs } : undefined;
  }

  /** Enabled, Ready, Reconciling and Stalled from the direction conditions and approval. */
  private summarise(mbx: Mailbox, deployment: Deployment | undefined, directions: Direction[], conds: Condition[], gen: number | undefined, approval: ReturnType<typeof approvalOf>): Condition[] {
    const dirConds = directions.map((d) => getCondition(conds, DIRECTION_CONDITIONS[d]));
    const failed = dirConds.filter((c) => c && c.status !== 'True');
    const passed = dirConds.filter((c) => c?.status === 'True');
    const permanent = failed.find((c) => c && (c.reason === 'TooManyTransientFailures' || !isTransientReason(c.reason)));
    let enabled: [Condition['status'], string, string];
    if (mbx.spec.suspended) enabled = ['False', 'Suspended', 'spec.suspended is true'];
    else if (approval.state === 'Denied') enabled = ['False', 'Denied', approval.message];
    else if (approval.state === 'Pending') enabled = ['False', 'AwaitingApproval', approval.message];
    else if (!directions.length) enabled = ['False', 'NothingToSync', 'every delivery method is None'];
    else if (!failed.length) enabled = ['True', 'Enabled', `processing ${directions.map((d) => DIRECTION_NAMES[d]).join(', ')}`];
    else if (passed.length) enabled = ['True', 'PartiallyEnabled', `processing ${directions.filter((_, i) => dirConds[i]?.status === 'True').map((d) => DIRECTION_NAMES[d]).join(', ')} only`];
    else enabled = ['False', failed[0]!.reason, failed[0]!.message];
    let out = setCondition(conds, { type: 'Enabled', status: enabled[0], reason: enabled[1], message: enabled[2] }, gen);
    const ready = enabled[0] === 'True' && !failed.length;
    const first = failed[0];
    out = setCondition(
      out,
      ready
        ? { type: 'Ready', status: 'True', reason: 'Ready', message: enabled[2] }
        : first && enabled[1] !== 'Suspended'
          ? { type: 'Ready', status: 'False', reason: first.reason, message: first.message }
          : { type: 'Ready', status: 'False', reason: enabled[1], message: enabled[2] },
      gen,
    );
    out = permanent ? setCondition(out, { type: 'Stalled', status: 'True', reason: permanent.reason, message: permanent.message }, gen) : removeCondition(out, 'Stalled');
    const retrying = failed.length && !permanent;
    out = retrying ? setCondition(out, { type: 'Reconciling', status: 'True', reason: 'RetryingTest', message: 'a transient failure is being retried' }, gen) : removeCondition(out, 'Reconciling');
    void deployment;
    return out;
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
  private async write(mbx: Mailbox, next: MailboxStatusT, events: { type: 'Normal' | 'Warning'; reason: string; message: string }[]): Promise<void> {
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
    if (readyChanged && after?.status === 'True' && !events.some((e) => e.type === 'Normal')) {
      await this.ctx.events.record(mbx, 'Normal', 'Ready', after.message);
    }
  }
}

const TRANSIENT = new Set(['ServerUnreachable', 'Timeout', 'Throttled', 'ServerError', 'TLSHandshakeInterrupted']);
export const isTransientReason = (reason: string): boolean => TRANSIENT.has(reason);
