// Appointments, contacts and tasks of a Dynamics 365 Deployment through the operator (controllers
// and a sync worker, real API server), Exchange Online over the Graph fake, the Dataverse fake:
// Test and Enable checks what ACT needs in Dataverse, hands ACT over from Dynamics, reaches
// Enabled naming the kinds, and an appointment made in Dynamics appears in Exchange.

import { waitFor } from '../../../dev/processes.js';
import { closeHttpDispatchers } from '../../../src/net/http.js';
import { FakeDynamics } from '../../support/fake-crm-dynamics.js';
import { FakeDataverseAct } from '../../support/fake-crm-dynamics-act.js';
import { FakeGraph } from '../../support/fake-graph.js';
import { FakeGraphAct } from '../../support/fake-graph-act.js';
import { FakeOAuth } from '../../support/fake-oauth.js';
import { clientsAs, condition, create, newNamespace, waitForCondition } from '../../support/kube.js';
import { createSecret, visibleText } from '../../support/mail-env.js';
import { startOperator, type InProcessOperator } from '../../support/operator.js';

const admin = clientsAs('admin');
const APP = { tenantId: 'contoso-tenant', clientId: 'mailsync-app', clientSecret: 'graph-Client-Secret-43' };
const DV_CLIENT = {
  tenantId: 'contoso-dyn',
  clientId: '7b7b7b7b-1111-4a4a-9b9b-123456789abc',
  clientSecret: 'dyn~ActOp.Client-Secret_0123456789',
};
const ANN = 'ann@contoso.example';
const BOB = 'bob@contoso.example';
const HOUR = 3_600_000;
let oauth: FakeOAuth;
let graph: FakeGraph;
let cal: FakeGraphAct;
let dv: FakeDynamics;
let x: FakeDataverseAct;
let annId: string;
let op: InProcessOperator;
let ns: string;

const at = (h: number) => new Date(Date.now() + h * HOUR).toISOString().replace(/\.\d{3}Z$/, 'Z');

beforeAll(async () => {
  oauth = await FakeOAuth.start({ clients: [APP] });
  graph = await FakeGraph.start(oauth, [ANN, BOB]);
  cal = FakeGraphAct.attach(graph);
  dv = await FakeDynamics.start({ clients: [DV_CLIENT] });
  x = FakeDataverseAct.attach(dv);
  // Dynamics synchronizes their appointments, contacts and tasks itself (actdeliverymethod 1, Server-Side Synchronization).
  annId = dv.addUser(ANN, 'Ann Organizer', { actdeliverymethod: 1 });
  dv.addUser(BOB, 'Bob', { actdeliverymethod: 1 });
  ns = await newNamespace(admin, 'actdyn');
  await createSecret(admin, ns, 'ca', { 'ca.crt': [oauth.caPem, graph.caPem, dv.caPem].join('\n') });
  await createSecret(admin, ns, 'graph-app', { clientSecret: APP.clientSecret });
  await createSecret(admin, ns, 'dynamics', { clientSecret: DV_CLIENT.clientSecret });
  await create(admin, 'deployments', ns, 'contoso', {
    crm: {
      type: 'Dynamics365',
      url: dv.orgUrl,
      oauth: { tenantId: DV_CLIENT.tenantId, clientId: DV_CLIENT.clientId, authorityURL: dv.authorityUrl },
      credentialsSecretRef: { name: 'dynamics' },
      caBundle: { secretRef: { name: 'ca' } },
      dynamics: { handOver: { allMailboxes: true } },
    },
    requireApprovedUsers: false,
    defaults: { incoming: 'None', outgoing: 'None', appointmentsContactsTasks: 'ServerSideSync' },
    appointmentsContactsTasks: { interval: '1s', trackingCategory: 'Tracked to Contoso' },
  });
  await create(admin, 'emailserverprofiles', ns, 'online', {
    serverType: 'ExchangeOnline',
    incoming: {
      url: graph.baseUrl,
      authentication: 'OAuth2',
      oauth: { tenantId: APP.tenantId, clientId: APP.clientId, authorityURL: oauth.authorityUrl },
      credentials: { source: 'Profile', secretRef: { name: 'graph-app' } },
      caBundle: { secretRef: { name: 'ca' } },
    },
    appointmentsContactsTasks: { enabled: true },
  });
  op = await startOperator(admin, ns);
});
afterAll(async () => {
  await op?.stop();
  await Promise.all([graph?.close(), oauth?.close(), dv?.close()]);
  await closeHttpDispatchers();
});

const mailbox = (address: string) => ({
  emailAddress: address,
  owner: { kind: 'User', name: address },
  deploymentRef: { name: 'contoso' },
  serverProfileRef: { name: 'online' },
});

test('a Dynamics Deployment with ACT: Enabled names the kinds, ACT is handed over, a Dynamics appointment appears in Exchange', async () => {
  x.add(
    'appointments',
    {
      subject: 'quarterly review',
      scheduledstart: at(24),
      scheduledend: at(25),
      statecode: 3,
      statuscode: 5,
      appointment_activity_parties: [
        { participationtypemask: 7, 'partyid_systemuser@odata.bind': `/systemusers(${annId})` },
        { participationtypemask: 5, addressused: 'cust@customer.example' },
      ],
    },
    annId,
  );
  await create(admin, 'mailboxes', ns, 'ann', mailbox(ANN));
  const o = await waitForCondition(admin, 'mailboxes', ns, 'ann', 'Ready', (c) => c.status === 'True', 60_000);
  expect(condition(o, 'AppointmentsContactsTasksReady')).toMatchObject({ status: 'True', reason: 'Succeeded' });
  expect(condition(o, 'Enabled')?.message).toMatch(/appointments, contacts and tasks/);
  // Dynamics no longer synchronizes ACT for Ann (None, 2): the operator does.
  expect(dv.mailbox(ANN)!.actdeliverymethod).toBe(2);
  // Test and Enable asked Dataverse what the application user may do.
  expect(dv.requests.some((r) => r.path.includes('RetrieveUserPrivilegeByPrivilegeName'))).toBe(true);

  const ev = await waitFor('event in Exchange', async () => cal.events(ANN).find((e) => e.data.subject === 'quarterly review'), {
    timeoutMs: 30_000,
  });
  expect(cal.notices).toEqual([]); // the first sync invites nobody
  expect(x.links(ANN, 'appointment').map((r) => r.msync_exchangeid)).toContain(ev.id);
});

test('an application user without a privilege ACT needs: the condition names it, and Dynamics keeps ACT', async () => {
  x.denied.add('prvWriteContact');
  try {
    await create(admin, 'mailboxes', ns, 'bob', mailbox(BOB));
    const o = await waitForCondition(
      admin,
      'mailboxes',
      ns,
      'bob',
      'AppointmentsContactsTasksReady',
      (c) => c.reason === 'CRMAuthenticationFailed',
      60_000,
    );
    expect(condition(o, 'AppointmentsContactsTasksReady')?.message).toMatch(/lacks privileges .*prvWriteContact/);
    expect(dv.mailbox(BOB)!.actdeliverymethod).toBe(1);
  } finally {
    x.denied.clear();
  }
});

test('no secret appears in any Event or status', async () => {
  const text = await visibleText(admin, ns);
  expect(text).not.toContain(APP.clientSecret);
  expect(text).not.toContain(DV_CLIENT.clientSecret);
});
