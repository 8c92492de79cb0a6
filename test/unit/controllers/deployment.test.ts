// The Deployment reconciler over in-memory caches: Ready from the CRM connector test through the
// CrmTesting port, a missing Secret, and the retry of a failing connector (never sooner than the
// CRM asked).

import type { CrmTestOutcome } from '../../../src/domain/testing-ports.js';
import { DeploymentReconciler } from '../../../src/controllers/deployment.js';
import { condition, ControllerWorld, NS, ScriptedCrmTesting } from '../../support/controller-world.js';

function world(withSecret = true): ControllerWorld {
  const w = new ControllerWorld();
  if (withSecret) w.put(w.secrets, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'crm' }, data: {} });
  w.putDeployment({ crm: { type: 'Webhook', url: 'https://crm.example.com/hook', credentialsSecretRef: { name: 'crm' } } });
  return w;
}

const outcome = (o: Partial<CrmTestOutcome>): CrmTestOutcome => ({
  ok: false,
  permanent: false,
  reason: 'CRMUnreachable',
  message: 'no answer',
  ...o,
});

type Case = {
  name: string;
  secret?: boolean;
  crm?: CrmTestOutcome;
  ready: [string, string];
  stalled?: string;
  reconciling?: string;
  event?: string;
  requeueAtLeastMs?: number;
};

const cases: Case[] = [
  {
    name: 'connector reachable and authenticated: Ready',
    crm: outcome({ ok: true, reason: 'Connected', message: 'connected' }),
    ready: ['True', 'Connected'],
    event: 'CRMConnected',
  },
  { name: 'no connector tests in this process: Valid', ready: ['True', 'Valid'] },
  {
    name: 'the credentials Secret is missing: Stalled, nothing tested',
    secret: false,
    crm: outcome({ ok: true, reason: 'Connected' }),
    ready: ['False', 'SecretNotFound'],
    stalled: 'SecretNotFound',
    event: 'SecretNotFound',
  },
  {
    name: 'a transient CRM failure is retried, never sooner than the CRM asked',
    crm: outcome({ reason: 'CRMThrottled', retryAfterMs: 120_000 }),
    ready: ['False', 'CRMThrottled'],
    reconciling: 'RetryingConnectorTest',
    event: 'CRMThrottled',
    requeueAtLeastMs: 120_000,
  },
  {
    name: 'a permanent CRM failure waits for a person',
    crm: outcome({ reason: 'CRMAuthenticationFailed', permanent: true }),
    ready: ['False', 'CRMAuthenticationFailed'],
    stalled: 'CRMAuthenticationFailed',
    event: 'CRMAuthenticationFailed',
  },
  {
    name: 'an untrusted CRM certificate is permanent although CRMUnreachable is not',
    crm: outcome({ reason: 'CRMUnreachable', permanent: true }),
    ready: ['False', 'CRMUnreachable'],
    stalled: 'CRMUnreachable',
  },
];

test.each(cases)('$name', async (c) => {
  const w = world(c.secret ?? true);
  const crm = c.crm && new ScriptedCrmTesting(c.crm);
  const result = await new DeploymentReconciler(w.context(), crm).reconcile(NS, 'crm');
  const d = w.deployments.get(NS, 'crm')!;
  expect(condition(d, 'Ready')).toMatchObject({ status: c.ready[0], reason: c.ready[1] });
  expect(condition(d, 'Stalled')?.reason).toBe(c.stalled);
  expect(condition(d, 'Reconciling')?.reason).toBe(c.reconciling);
  if (c.event) expect(w.events.map((e) => e.reason)).toContain(c.event);
  if (c.requeueAtLeastMs) expect(result?.requeueAfterMs).toBeGreaterThanOrEqual(c.requeueAtLeastMs);
  expect(d.status?.observedGeneration).toBe(d.metadata.generation);
});
