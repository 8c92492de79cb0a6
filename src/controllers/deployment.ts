// DeploymentReconciler: tests the CRM connector (reachable and authenticated) and reports Ready
// and the counts of the Deployment's mailboxes. A connector test is repeated at most once a
// minute for the same configuration (mailbox changes re-queue the Deployment for its counts),
// and retried with backoff while it fails.

import type { Deployment, DeploymentStatusT } from '../api/types.js';
import { RESOURCES, TEST_REQUESTED_AT } from '../api/types.js';
import { getCondition } from '../kube/conditions.js';
import { patchStatus } from '../kube/status.js';
import { retryDelay } from '../util/backoff.js';
import type { ReconcileResult } from '../kube/workqueue.js';
import type { ControllerContext } from './context.js';
import { mailboxIndex } from '../domain/mailbox-index.js';
import type { CrmTestOutcome, CrmTesting } from '../domain/testing-ports.js';
import { secretSource } from '../domain/secret-source.js';
import { rolloutProgress } from './rollout-progress.js';
import { applySummary } from './summary.js';

const RETEST_MS = 60_000;
const HEALTHY_RECHECK_MS = 5 * 60_000;

interface LastTest {
  key: string;
  outcome: CrmTestOutcome;
  failures: number;
  /** Until then the result stands for the same configuration. */
  retestAt: number;
}

export class DeploymentReconciler {
  private readonly last = new Map<string, LastTest>();

  constructor(
    private readonly ctx: ControllerContext,
    private readonly crm?: CrmTesting,
  ) {}

  /** What decides the connector: its spec, its Secret's version, a test request. */
  private configKey(d: Deployment): string {
    const ref = d.spec.crm.credentialsSecretRef;
    const sv = ref ? this.ctx.caches.secrets.get(d.metadata.namespace, ref.name)?.metadata.resourceVersion : '';
    return JSON.stringify([d.spec.crm, sv, d.metadata.annotations?.[TEST_REQUESTED_AT]]);
  }

  private async testConnector(d: Deployment): Promise<{ outcome: CrmTestOutcome; retryInMs: number; fresh: boolean }> {
    const id = `${d.metadata.namespace}/${d.metadata.name}`;
    const key = this.configKey(d);
    const prev = this.last.get(id);
    if (prev && prev.key === key && Date.now() < prev.retestAt) return { outcome: prev.outcome, retryInMs: 0, fresh: false };
    const outcome = await this.crm!.test(d, secretSource(this.ctx.caches, d.metadata.namespace, this.ctx.clients));
    const failures = outcome.ok ? 0 : (prev?.key === key ? prev.failures : 0) + 1;
    // Healthy: recheck now and then. Transient: back off (at least as long as the CRM asked).
    // Permanent: only a configuration change retests before the retest interval.
    const delay = outcome.ok
      ? HEALTHY_RECHECK_MS
      : outcome.permanent
        ? (outcome.retryAfterMs ?? RETEST_MS)
        : retryDelay(failures, { baseMs: 2000, maxMs: RETEST_MS, jitter: 0.2 }, outcome.retryAfterMs);
    this.last.set(id, { key, outcome, failures, retestAt: Date.now() + delay });
    const retryInMs = outcome.permanent ? 0 : delay;
    return { outcome, retryInMs, fresh: true };
  }

  async reconcile(namespace: string, name: string): Promise<ReconcileResult | void> {
    const d = this.ctx.caches.deployments.get(namespace, name);
    if (!d || d.metadata.deletionTimestamp) {
      this.last.delete(`${namespace}/${name}`);
      return;
    }
    const gen = d.metadata.generation;
    const index = mailboxIndex(this.ctx.caches);
    const mailboxes = index.ofDeployment(namespace, name);
    const next: DeploymentStatusT = { ...(d.status ?? {}), observedGeneration: gen, mailboxes: index.countsOfDeployment(namespace, name) };
    const ref = d.spec.crm.credentialsSecretRef;
    let conds = d.status?.conditions;
    let result: ReconcileResult | undefined;
    let event: { type: 'Normal' | 'Warning'; reason: string; message: string } | undefined;
    if (ref && !this.ctx.caches.secrets.get(namespace, ref.name)) {
      const message = `Secret "${ref.name}" (spec.crm.credentialsSecretRef) not found in namespace "${namespace}"`;
      conds = applySummary(conds, gen, {
        ready: { status: 'False', reason: 'SecretNotFound', message },
        failure: { reason: 'SecretNotFound', message },
      });
      event = { type: 'Warning', reason: 'SecretNotFound', message };
    } else if (!this.crm) {
      conds = applySummary(conds, gen, {
        ready: { status: 'True', reason: 'Valid', message: 'deployment is valid (connector not tested in this process)' },
      });
    } else {
      const { outcome, retryInMs, fresh } = await this.testConnector(d);
      // Ready also waits for a change of the defaults to reach the mailboxes that use them, so
      // `kubectl wait --for=condition=Ready` on a Deployment waits for its rollout too.
      const usingDefaults = mailboxes.filter(
        (m) => !m.spec.serverProfileRef || !m.spec.incoming || !m.spec.outgoing || !m.spec.appointmentsContactsTasks,
      );
      const progress = rolloutProgress(this.ctx.caches, usingDefaults);
      const failedNote = progress.failed
        ? `; ${progress.failed} mailbox(es) failed the test of their new configuration and run their last-known-good one: ${progress.failedNames.join(', ')}`
        : '';
      const rolling = outcome.ok && progress.pending > 0;
      conds = applySummary(conds, gen, {
        ready: rolling
          ? {
              status: 'False',
              reason: 'RolloutInProgress',
              message: `${progress.pending} of ${usingDefaults.length} mailboxes using the defaults are still moving to the current configuration${failedNote}`,
            }
          : { status: outcome.ok ? 'True' : 'False', reason: outcome.reason, message: outcome.message + (outcome.ok ? failedNote : '') },
        // The connector knows whether this very failure is permanent (an untrusted CRM certificate is).
        failure: outcome.ok ? undefined : { reason: outcome.reason, message: outcome.message, retrying: !outcome.permanent },
        reconciling: outcome.ok
          ? rolling
            ? { reason: 'RolloutInProgress', message: 'a change of the defaults is rolling out' }
            : undefined
          : { reason: 'RetryingConnectorTest', message: 'the CRM connector test is retried with backoff' },
      });
      if (fresh)
        event = outcome.ok
          ? { type: 'Normal', reason: 'CRMConnected', message: outcome.message }
          : { type: 'Warning', reason: outcome.reason, message: outcome.message };
      if (retryInMs > 0) result = { requeueAfterMs: retryInMs };
    }
    next.conditions = conds;
    const before = getCondition(d.status?.conditions, 'Ready');
    await patchStatus(
      this.ctx.clients,
      { ...RESOURCES.deployments, namespace, name, resourceVersion: d.metadata.resourceVersion },
      d.status,
      next,
    );
    const after = getCondition(next.conditions, 'Ready');
    if (event && (before?.status !== after?.status || before?.reason !== after?.reason)) {
      this.ctx.logger.info({ namespace, deployment: name, ready: after?.status, reason: event.reason }, `CRM connector: ${event.message}`);
      await this.ctx.events.record(d, event.type, event.reason, event.message);
    }
    return result;
  }
}
