// The sync worker's status writes start from its watch cache instead of a GET. A cache behind the
// server must never cost a write: a stale copy conflicts and is read again, and a copy that already
// looks like what the reporter wants is checked against the server before nothing is written.

import { GROUP, VERSION } from '../../../src/api/schema.js';
import type { Mailbox } from '../../../src/api/types.js';
import { mergePatch } from '../../../src/kube/client.js';
import { EventRecorder } from '../../../src/kube/events.js';
import { silentLogger } from '../../../src/log/logger.js';
import { MailboxStatusReporter } from '../../../src/sync/status-reporter.js';
import { clientsAs, condition, create, get, newNamespace, userMailbox } from '../../support/kube.js';
import { waitFor } from '../../../dev/processes.js';

const admin = clientsAs('admin');
const events = new EventRecorder(admin, 'mailsync-test', silentLogger());
let ns: string;

beforeAll(async () => {
  ns = await newNamespace(admin, 'reporter');
});

const read = async (name: string) => (await get(admin, 'mailboxes', ns, name)) as unknown as Mailbox;
const patchConditions = (name: string, conditions: unknown[]) =>
  admin.custom.patchNamespacedCustomObjectStatus(
    { group: GROUP, version: VERSION, namespace: ns, plural: 'mailboxes', name, body: { status: { conditions } } },
    mergePatch(),
  );
const reporter = (mbx: Mailbox, cached: () => Mailbox | undefined) =>
  new MailboxStatusReporter(admin, mbx, events, silentLogger(), { latest: cached, directions: ['incoming'], intervalMs: 60_000 });
const cycle = { delivered: 2, duplicates: 0 };

test('a cached copy older than the server conflicts, is read again, and the write lands', async () => {
  await create(admin, 'mailboxes', ns, 'stale', userMailbox('stale'));
  const old = await read('stale');
  // Someone else (the controller) writes after the cache's copy was taken.
  await patchConditions('stale', [
    { type: 'Ready', status: 'True', reason: 'Enabled', message: 'x', lastTransitionTime: new Date().toISOString() },
  ]);
  const r = reporter(old, () => old);
  r.cycleSucceeded('incoming', cycle, new Date(Date.now() + 60_000));
  await r.close();
  const now = await read('stale');
  expect(now.status?.sync?.incoming?.lastCycle).toEqual(cycle);
  expect(condition(now, 'Synced')?.status).toBe('True');
  expect(condition(now, 'Ready')?.reason).toBe('Enabled'); // the other writer's condition is kept
});

test('a cached copy that already shows what the reporter wants is checked against the server', async () => {
  await create(admin, 'mailboxes', ns, 'behind', userMailbox('behind'));
  const first = reporter(await read('behind'), () => undefined);
  first.cycleSucceeded('incoming', cycle, new Date(Date.now() + 60_000));
  await first.close();
  // The cache holds that write; the server has moved on (Synced False, as a later write of ours
  // that the cache has not seen yet would leave it).
  const cached = await read('behind');
  expect(condition(cached, 'Synced')?.status).toBe('True');
  await patchConditions('behind', [{ ...condition(cached, 'Synced'), status: 'False', reason: 'LoginFailed', message: 'was failing' }]);
  const second = reporter(cached, () => cached);
  second.recovered('incoming', {
    reason: 'LoginFailed',
    message: 'was failing',
    permanent: false,
    exhausted: false,
    failures: 1,
    since: new Date(),
  });
  await second.close();
  expect(condition(await read('behind'), 'Synced')).toMatchObject({ status: 'True', reason: 'Synced' });
});

test("a direction's first quiet cycle reaches status after the other direction's made Synced True", async () => {
  await create(admin, 'mailboxes', ns, 'late', userMailbox('late'));
  const r = new MailboxStatusReporter(admin, await read('late'), events, silentLogger(), {
    directions: ['incoming', 'outgoing'],
    intervalMs: 10,
  });
  r.cycleSucceeded('incoming', {}, new Date(Date.now() + 60_000));
  await waitFor('Synced', async () => (condition(await read('late'), 'Synced')?.status === 'True' ? true : undefined), { timeoutMs: 5000 });
  r.cycleSucceeded('outgoing', {}, new Date(Date.now() + 60_000));
  await r.close();
  // Without it, the next start finds a direction that never ran and writes for it (restart writes).
  expect((await read('late')).status?.sync?.outgoing?.lastSyncTime).toBeDefined();
});
