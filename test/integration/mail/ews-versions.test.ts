// EwsAdapter against Exchange 2010 SP2 and Exchange 2019 (the EWS fake answering as each, and
// checking RequestServerVersion as Exchange does): the version is detected when not configured,
// requests are written for it, and a configured version newer than the server is refused with a
// message that names spec.exchangeVersion.
import { EwsAdapter, type EwsOptions } from '../../../src/mail/ews.js';
import { closeHttpDispatchers } from '../../../src/net/http.js';
import type { Credentials } from '../../../src/mail/types.js';
import { FakeEws } from '../../support/fake-ews.js';
import type { ExchangeRelease } from '../../support/fake-ews-soap.js';
import { expectMailError } from '../../support/mail-assertions.js';

const SVC = { username: 'CONTOSO\\svc-crm', password: 'svc-Versions-Pa55', canImpersonate: true };
const QUEUE = 'support@contoso.test';
const svc: Credentials = { kind: 'password', username: SVC.username, password: SVC.password };
const mime = (subject: string) =>
  `From: customer@example.test\r\nTo: ${QUEUE}\r\nSubject: ${subject}\r\nMessage-ID: <${subject}@example.test>\r\n\r\nHello.\r\n`;

const fakes = new Map<ExchangeRelease, FakeEws>();

beforeAll(async () => {
  for (const release of ['Exchange2010_SP2', 'Exchange2019'] as const)
    fakes.set(release, await FakeEws.start({ accounts: [SVC], mailboxes: [QUEUE], release }));
});
afterAll(async () => {
  await Promise.all([...fakes.values()].map((f) => f.close()));
  await closeHttpDispatchers();
});

function adapter(ews: FakeEws, options: Partial<EwsOptions> = {}): EwsAdapter {
  return new EwsAdapter({ host: '127.0.0.1', port: 443, tls: 'Implicit', url: ews.ewsUrl, ca: ews.caPem, timeoutMs: 5000 }, svc, {
    mailbox: QUEUE,
    impersonate: true,
    ...options,
  });
}

describe.each([
  ['Exchange2010_SP2', 'Exchange2010_SP2', 'Exchange 2010 SP2, detected', false],
  ['Exchange2019', 'Exchange2016', 'Exchange 2019, detected', true],
] as const)('a server answering as %s, version not configured', (release, schema, described, anchored) => {
  test("test, sync, download and send work; the first request is in the 2010 schema, the rest in the server's", async () => {
    const ews = fakes.get(release)!;
    const id = ews.addMessage(QUEUE, mime(`hello-${release}`));
    const a = adapter(ews);
    const before = ews.requests.length;
    await a.test();
    expect(a.serverDescription()).toBe(described);
    const sync = await a.syncFolderItems();
    expect(sync.created).toContain(id);
    expect((await a.getMime(id))?.source.toString()).toContain(`Subject: hello-${release}`);
    await a.send({
      from: QUEUE,
      to: ['customer@example.test'],
      subject: `sent via ${release}`,
      text: 'Hi',
      messageId: `<v-${release}@mailsync.test>`,
    });
    expect(ews.sent.at(-1)?.subject).toBe(`sent via ${release}`);

    const seen = ews.requests.slice(before);
    expect(seen.map((r) => r.version)).toEqual(['Exchange2010', schema, schema, schema]);
    // X-AnchorMailbox exists from Exchange 2013 on; a 2010 server is not sent it.
    expect(seen.slice(1).every((r) => (r.anchorMailbox === QUEUE) === anchored)).toBe(true);
  });

  test('a later adapter for the same server writes for its version from the first request', async () => {
    const ews = fakes.get(release)!;
    const before = ews.requests.length;
    const a = adapter(ews);
    await a.test();
    expect(ews.requests.slice(before).map((r) => r.version)).toEqual([schema]);
    expect(a.serverDescription()).toBe(described);
  });
});

test('a configured version is used as it is, and reported as configured', async () => {
  const ews = fakes.get('Exchange2019')!;
  const before = ews.requests.length;
  const a = adapter(ews, { version: 'Exchange2013_SP1' });
  await a.test();
  expect(ews.requests.slice(before).map((r) => r.version)).toEqual(['Exchange2013_SP1']);
  expect(a.serverDescription()).toBe('Exchange 2013 SP1');
});

test('a configured version newer than the server: refused as Exchange does, UnsupportedConfiguration naming spec.exchangeVersion', async () => {
  const ews = fakes.get('Exchange2010_SP2')!;
  const err = await expectMailError(adapter(ews, { version: 'Exchange2016' }).test(), 'UnsupportedConfiguration', [SVC.password]);
  expect(err.permanent).toBe(true);
  expect(err.message).toContain('ErrorInvalidServerVersion');
  expect(err.message).toContain("the profile's spec.exchangeVersion");
  expect(ews.requests.at(-1)?.version).toBe('Exchange2016');
});
