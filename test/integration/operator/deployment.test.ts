// A Deployment is Ready when its CRM connector reaches the CRM and authenticates.

import { waitFor } from '../../../dev/processes.js';
import { FakeCrmWebhook } from '../../support/fake-crm-webhook.js';
import { clientsAs, condition, create, get, newNamespace, waitForCondition } from '../../support/kube.js';
import { createSecret, updateSecret, visibleText } from '../../support/mail-env.js';
import { startOperator, type InProcessOperator } from '../../support/operator.js';

const admin = clientsAs('admin');
const CRM = { token: 'deploy-Crm-Token-000111', signingKey: 'deploy-Signing-Key-222333' };
let crm: FakeCrmWebhook;
let op: InProcessOperator;
let ns: string;

beforeAll(async () => {
  crm = await FakeCrmWebhook.start(CRM);
  ns = await newNamespace(admin, 'deploy');
  op = await startOperator(admin, ns);
});
afterAll(async () => {
  await op?.stop();
  await crm?.close();
});

test('reachable and authenticated: Ready=True with reason Connected', async () => {
  await createSecret(admin, ns, 'crm', CRM);
  await create(admin, 'deployments', ns, 'ok', { crm: { type: 'Webhook', url: crm.url, credentialsSecretRef: { name: 'crm' } } });
  const o = await waitForCondition(admin, 'deployments', ns, 'ok', 'Ready', (c) => c.status === 'True');
  expect(condition(o, 'Ready')?.reason).toBe('Connected');
});

test('a wrong token is CRMAuthenticationFailed (Stalled); fixing the Secret makes it Ready', async () => {
  await createSecret(admin, ns, 'wrong', { ...CRM, token: 'not-the-right-token-xyz' });
  await create(admin, 'deployments', ns, 'auth', { crm: { type: 'Webhook', url: crm.url, credentialsSecretRef: { name: 'wrong' } } });
  const o = await waitForCondition(admin, 'deployments', ns, 'auth', 'Ready', (c) => c.reason === 'CRMAuthenticationFailed');
  expect(condition(o, 'Stalled')?.status).toBe('True');
  await updateSecret(admin, ns, 'wrong', CRM);
  await waitForCondition(admin, 'deployments', ns, 'auth', 'Ready', (c) => c.status === 'True');
});

test('an unreachable CRM is CRMUnreachable and retried (Reconciling)', async () => {
  await create(admin, 'deployments', ns, 'down', {
    crm: { type: 'Webhook', url: 'http://127.0.0.1:9/hook', credentialsSecretRef: { name: 'crm' } },
  });
  const o = await waitForCondition(admin, 'deployments', ns, 'down', 'Ready', (c) => c.reason === 'CRMUnreachable');
  expect(condition(o, 'Reconciling')?.status).toBe('True');
  await waitFor('an event', async () =>
    (await admin.core.listNamespacedEvent({ namespace: ns })).items.some(
      (e) => e.involvedObject.name === 'down' && e.reason === 'CRMUnreachable',
    )
      ? true
      : undefined,
  );
  expect((await get(admin, 'deployments', ns, 'down')).status.observedGeneration).toBe(1);
});

test('no CRM secret is visible', async () => {
  const text = await visibleText(admin, ns);
  for (const s of Object.values(CRM)) expect(text).not.toContain(s);
});
