// EmailServerProfileReconciler: checks what the API server cannot (referenced Secrets exist),
// publishes the profile's current revision (with the spec of every revision mailboxes still run
// on, for the sync workers), drives the rollout of the current revision through the
// RolloutController, and reports Ready, the rollout conditions and the mailbox counts.
//
// Ready is True only when every mailbox of the profile runs the current revision, apart from
// mailboxes whose own configuration is incomplete (they are not the rollout's to finish), so
// `kubectl wait --for=condition=Ready` on a profile waits for its rollout; and False
// (MailboxesFailing) while failureThreshold percent of its mailboxes or more have a failing
// direction (docs/status.md).

import type { EmailServerProfile, EmailServerProfileSpec, Mailbox, ProfileStatus } from '../api/types.js';
import { RESOURCES } from '../api/types.js';
import { reasonInfo } from '../api/reasons.js';
import { getCondition, removeCondition, setCondition, type Condition } from '../kube/conditions.js';
import { isConflict } from '../kube/errors.js';
import { patchStatus } from '../kube/status.js';
import type { ReconcileResult } from '../kube/workqueue.js';
import type { ControllerContext } from './context.js';
import { failingDirection } from '../domain/mailbox-counts.js';
import { mailboxIndex, type MailboxIndex } from '../domain/mailbox-index.js';
import { effectiveDeliveryMethods } from '../domain/delivery-methods.js';
import { directionsOf, resolveMailbox } from './resolve.js';
import { RolloutController, rolloutSettings, type RolloutPhase, type RolloutPlan } from './rollout.js';
import { mailboxRolloutState } from './rollout-mailbox.js';
import { cacheVersions, profileRevision, revisionSpec } from '../domain/revision.js';
import { secretSource } from '../domain/secret-source.js';
import type { ProfileTesting } from '../domain/testing-ports.js';
import { answerTestRequest } from './profile-test.js';
import { applySummary, type Summary } from './summary.js';

const MAX_REVISIONS = 32;
const FAILING_NAMED = 5;
/**
 * Failures of a mailbox's own configuration (its Secret is missing or lacks a key): the mailbox
 * reports them, but they say nothing about the profile (a profile's own missing Secret is its
 * SecretNotFound), as mailboxes whose configuration is incomplete do not hold up its rollout.
 */
const OWN_CONFIGURATION = new Set(['SecretNotFound', 'CredentialsMissing']);

/**
 * When at least `threshold` percent of the mailboxes have a failing direction (the rollout's
 * spec.rollout.failureThreshold, as Dynamics' alert rule and the chart's alert): what to say about
 * it in the profile's Ready message; undefined otherwise.
 */
export function failingShare(mailboxes: Mailbox[], threshold: number): string | undefined {
  const failing = mailboxes.flatMap((m) => {
    const f = failingDirection(m);
    return f && !OWN_CONFIGURATION.has(f.reason) ? [`${m.metadata.name} (${f.type} ${f.reason})`] : [];
  });
  if (!failing.length || failing.length * 100 < threshold * mailboxes.length) return undefined;
  const named =
    failing.slice(0, FAILING_NAMED).join(', ') + (failing.length > FAILING_NAMED ? `, and ${failing.length - FAILING_NAMED} more` : '');
  return `${failing.length} of ${mailboxes.length} mailboxes fail (spec.rollout.failureThreshold is ${threshold}%): ${named}; see each mailbox's conditions`;
}

/**
 * Ready and the kstatus conditions for each phase of a rollout. `blocker` is what keeps the profile
 * from being Ready: the reason registry says whether it is work under way (Reconciling) or waits
 * for a person (Stalled).
 */
const PHASE_CONDITIONS: Record<
  RolloutPhase,
  { ready: [Condition['status'], string]; blocker?: string; paused?: string; event?: ['Normal' | 'Warning', string] }
> = {
  Complete: { ready: ['True', 'UpToDate'], event: ['Normal', 'RolloutCompleted'] },
  Progressing: { ready: ['False', 'RolloutInProgress'], blocker: 'RolloutInProgress' },
  Paused: {
    ready: ['False', 'RolloutPaused'],
    blocker: 'FailureThresholdReached',
    paused: 'FailureThresholdReached',
    event: ['Warning', 'RolloutPaused'],
  },
  PausedByUser: { ready: ['False', 'RolloutPaused'], paused: 'PausedByUser', event: ['Normal', 'RolloutPaused'] },
  Incomplete: { ready: ['False', 'RolloutIncomplete'], blocker: 'RolloutIncomplete', event: ['Warning', 'RolloutIncomplete'] },
};

export class ProfileReconciler {
  private readonly rollouts = new RolloutController();
  private readonly index: MailboxIndex;

  constructor(
    private readonly ctx: ControllerContext,
    /** Runs the profile's own connection test on a test request. */
    private readonly testing?: Partial<ProfileTesting>,
  ) {
    this.index = mailboxIndex(ctx.caches);
  }

  /** Mailboxes that use this profile, directly or through their Deployment's default. */
  mailboxesOf(p: EmailServerProfile) {
    return this.index.ofProfile(p.metadata.namespace, p.metadata.name);
  }

  async reconcile(namespace: string, name: string): Promise<ReconcileResult | void> {
    const p = this.ctx.caches.profiles.get(namespace, name);
    if (!p || p.metadata.deletionTimestamp) return;
    const gen = p.metadata.generation;
    const caches = this.ctx.caches;
    const revision = profileRevision(p, cacheVersions(caches, namespace));
    const mailboxes = this.mailboxesOf(p);
    const plan = this.rollouts.plan(
      p,
      revision,
      mailboxes.map((m) => {
        const res = resolveMailbox(m, caches);
        const directions = res.ok
          ? directionsOf(res.value)
          : directionsOf(effectiveDeliveryMethods(m, caches.deployments.get(namespace, m.spec.deploymentRef.name)));
        return { mailbox: m, state: mailboxRolloutState(m, { profile: name, revision, directions }), resolvable: res.ok };
      }),
    );
    const next: ProfileStatus = {
      ...(p.status ?? {}),
      observedGeneration: gen,
      revision,
      revisions: this.revisionsInUse(p, revision),
      rollout: plan.rollout,
      mailboxes: { ...this.index.countsOfProfile(namespace, name), ...plan.counts },
    };
    const problem = this.missingSecret(p);
    next.conditions = this.conditions(p, plan, problem, failingShare(mailboxes, rolloutSettings(p.spec).failureThreshold));
    const tester = this.testing?.testProfile ? (this.testing as ProfileTesting) : undefined;
    const tested = await answerTestRequest(p, tester, secretSource(caches, namespace, this.ctx.clients));
    if (tested) next.connectionTest = tested.status;
    const before = getCondition(p.status?.conditions, 'Ready');
    const after = getCondition(next.conditions, 'Ready')!;
    try {
      await patchStatus(
        this.ctx.clients,
        { ...RESOURCES.profiles, namespace, name, resourceVersion: p.metadata.resourceVersion },
        p.status,
        next,
      );
    } catch (err) {
      // Our previous write has not reached the cache yet: plan again from the object that has it
      // rather than act twice on the same batch.
      if (isConflict(err)) return { requeueAfterMs: 100 };
      throw err;
    }
    for (const e of plan.events) {
      // Each rollout step (a batch admitted, a batch done) is a log line too.
      this.ctx.logger.info({ namespace, profile: name, reason: e.reason }, e.message);
      await this.ctx.events.record(p, e.type, e.reason, e.message);
    }
    if (tested) await this.ctx.events.record(p, tested.event.type, tested.event.reason, tested.event.message);
    if (problem && before?.reason !== 'SecretNotFound') await this.ctx.events.record(p, 'Warning', 'SecretNotFound', problem);
    const transition = PHASE_CONDITIONS[plan.phase].event;
    if (!problem && transition && before && (before.status !== after.status || before.reason !== after.reason)) {
      // A profile that never had a mailbox to move has nothing to announce.
      if (plan.phase !== 'Complete' || plan.rollout.batch) {
        this.ctx.logger.info({ namespace, profile: name, reason: transition[1], phase: plan.phase }, plan.message);
        await this.ctx.events.record(p, transition[0], transition[1], plan.message);
      }
    }
    return plan.requeueAfterMs !== undefined ? { requeueAfterMs: plan.requeueAfterMs } : undefined;
  }

  private conditions(p: EmailServerProfile, plan: RolloutPlan, problem: string | undefined, failing: string | undefined): Condition[] {
    const gen = p.metadata.generation;
    const phase = PHASE_CONDITIONS[plan.phase];
    let conds = p.status?.conditions ?? [];
    const blocker = phase.blocker ? { reason: phase.blocker, message: plan.message } : undefined;
    const progress = blocker && reasonInfo(blocker.reason)?.kind === 'progress';
    // A rolled-out profile whose mailboxes mostly fail does not do what it is for. Each mailbox
    // reports (and retries) its own failure, so this is neither Stalled nor Reconciling.
    const ready: Summary['ready'] = problem
      ? { status: 'False', reason: 'SecretNotFound', message: problem }
      : phase.ready[0] === 'True' && failing
        ? { status: 'False', reason: 'MailboxesFailing', message: `${plan.message}; but ${failing}` }
        : { status: phase.ready[0], reason: phase.ready[1], message: plan.message };
    conds = applySummary(conds, gen, {
      ready,
      failure: problem ? { reason: 'SecretNotFound', message: problem } : progress ? undefined : blocker,
      reconciling: progress ? blocker : undefined,
    });
    conds = phase.paused
      ? setCondition(conds, { type: 'RolloutPaused', status: 'True', reason: phase.paused, message: plan.message }, gen)
      : removeCondition(conds, 'RolloutPaused');
    return conds;
  }

  /**
   * The current revision and every revision a mailbox still runs on, with their specs, so a sync
   * worker can (re)start a mailbox on its last-known-good configuration. The revision that was
   * current until now is kept one reconcile longer: a mailbox may have moved to it a moment ago
   * without this cache having seen it yet.
   */
  private revisionsInUse(p: EmailServerProfile, revision: string): { revision: string; spec: EmailServerProfileSpec }[] {
    const used = new Set<string>([revision]);
    if (p.status?.revision) used.add(p.status.revision);
    for (const m of this.index.runningOn(p.metadata.namespace, p.metadata.name)) {
      if (m.status?.revision) used.add(m.status.revision);
    }
    const known = new Map<string, EmailServerProfileSpec>(
      (p.status?.revisions ?? []).map((r) => [r.revision, r.spec as EmailServerProfileSpec]),
    );
    known.set(revision, revisionSpec(p.spec));
    return [...used]
      .filter((r) => known.has(r))
      .slice(0, MAX_REVISIONS)
      .map((r) => ({ revision: r, spec: known.get(r)! }));
  }

  private missingSecret(p: EmailServerProfile): string | undefined {
    for (const dir of ['incoming', 'outgoing'] as const) {
      const ref = p.spec[dir]?.credentials?.secretRef;
      if (ref && !this.ctx.caches.secrets.get(p.metadata.namespace, ref.name)) {
        return `Secret "${ref.name}" (spec.${dir}.credentials.secretRef) not found in namespace "${p.metadata.namespace}"`;
      }
    }
    return undefined;
  }
}
