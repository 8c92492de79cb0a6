// Attachments of CRM email reach the recipient, byte for byte, through both connectors; an email
// whose attachments cannot be fetched is never sent without them: it stays pending, is tried again,
// and is then failed with AttachmentUnavailable. Replies written in the CRM keep their threading.
import { clientCredentials } from '../../../src/mail/oauth.js';
import { DynamicsConnector } from '../../../src/crm/dynamics.js';
import type { CrmConnector } from '../../../src/crm/types.js';
import { WebhookConnector } from '../../../src/crm/webhook.js';
import { closeHttpDispatchers } from '../../../src/net/http.js';
import { SmtpAdapter } from '../../../src/mail/smtp.js';
import { ATTACHMENT_FETCH_ATTEMPTS, OutgoingSync } from '../../../src/sync/outgoing.js';
import { DEFAULT_TOKEN } from '../../../src/sync/tracking-token.js';
import { FakeDynamics } from '../../support/fake-crm-dynamics.js';
import { FakeCrmWebhook } from '../../support/fake-crm-webhook.js';
import { startSmtpReceiver, type SmtpReceiver } from '../../support/smtp-receiver.js';

const PASSWORD = 'out-Attach-Password-1';
const CRM = { token: 'attach-Crm-Token-0123456', signingKey: 'attach-Signing-Key-0123456' };
const CLIENT = {
  tenantId: 'attach-tenant',
  clientId: '1d7c1f7e-2222-4a4a-9b9b-123456789abc',
  clientSecret: 'dyn~Attach.Secret_0123456789abcdef',
};

let smtp: SmtpReceiver;
let webhook: FakeCrmWebhook;
let dv: FakeDynamics;
let sender: SmtpAdapter;

/** A quote PDF stand-in and a 5 MB file whose every byte matters. */
const quote = Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(2000, 0x41)]);
const big = Buffer.from(Array.from({ length: 5 * 1024 * 1024 }, (_, i) => (i * 7 + (i >> 9)) % 256));

beforeAll(async () => {
  smtp = await startSmtpReceiver({ users: [{ username: 'sales', password: PASSWORD }] });
  webhook = await FakeCrmWebhook.start(CRM);
  dv = await FakeDynamics.start({ clients: [CLIENT] });
  sender = new SmtpAdapter(
    { host: '127.0.0.1', port: smtp.port, tls: 'STARTTLS', ca: smtp.caPem },
    { kind: 'password', username: 'sales', password: PASSWORD },
    { maxConnections: 2 },
  );
});
afterAll(async () => {
  sender?.close();
  await smtp?.close();
  await webhook?.close();
  await dv?.close();
  await closeHttpDispatchers();
});

const mailbox = { key: 'ns/sales', address: 'sales@contoso.com', sendMode: 'SendAs' as const, token: DEFAULT_TOKEN };
const webhookConnector = () => new WebhookConnector({ url: webhook.url, ...CRM });
const dynamicsConnector = () =>
  new DynamicsConnector({ url: dv.orgUrl, ...CLIENT, authorityUrl: dv.authorityUrl, ca: dv.caPem, tokenSource: clientCredentials });

/** The message smtp-server received with this subject. */
function received(subject: string) {
  return smtp.messages.filter((m) => m.parsed.subject?.startsWith(subject));
}

describe.each([
  {
    name: 'webhook',
    connector: webhookConnector,
    add: (subject: string, inReplyTo?: string) =>
      webhook.addPendingEmail(
        'sales@contoso.com',
        {
          from: { address: 'sales@contoso.com' },
          to: [{ address: 'customer@example.net' }],
          cc: [],
          bcc: [],
          subject,
          ...(inReplyTo ? { inReplyTo, references: [inReplyTo] } : {}),
        },
        [
          { filename: 'quote.pdf', contentType: 'application/pdf', content: quote },
          { filename: 'data.bin', contentType: 'application/octet-stream', content: big },
        ],
      ),
    sent: (id: string) => webhook.outgoing(id)?.status === 'sent',
    failure: (id: string) => webhook.outgoing(id)?.failure?.reason,
    pending: (id: string) => webhook.outgoing(id)?.status === 'pending',
    breakAttachments: (id: string) => webhook.failAttachment(id, { status: 500 }),
  },
  {
    name: 'Dynamics 365',
    connector: dynamicsConnector,
    add: (subject: string, inReplyTo?: string) => {
      const user = dv.mailbox('sales@contoso.com')
        ? String(dv.mailbox('sales@contoso.com')!._ownerid_value)
        : dv.addUser('sales@contoso.com', 'Sam Sales');
      const parentId = inReplyTo
        ? dv.addOutgoingEmail({ fromUserId: user, to: ['x@example.net'], subject: 'parent', statuscode: 3 })
        : undefined;
      if (parentId) (dv.email(parentId) as Record<string, unknown>).messageid = `<${inReplyTo}>`;
      return dv.addOutgoingEmail({
        fromUserId: user,
        to: ['customer@example.net'],
        subject,
        description: '<p>Please find the quote attached.</p>',
        parentId,
        attachments: [
          { filename: 'quote.pdf', mimetype: 'application/pdf', content: quote },
          { filename: 'data.bin', mimetype: 'application/octet-stream', content: big },
        ],
      });
    },
    sent: (id: string) => dv.email(id)?.statuscode === 3,
    failure: (id: string) => (dv.email(id)?.statuscode === 8 ? 'Failed' : undefined),
    pending: (id: string) => dv.email(id)?.statuscode === 6,
    breakAttachments: () => dv.failRequests((r) => /InitializeAttachmentBlocksDownload|activitymimeattachments\(/.test(r.path), 503, 1000),
  },
])('$name', ({ name, connector, add, sent, failure, pending, breakAttachments }) => {
  let crm: CrmConnector;
  beforeAll(() => {
    crm = connector();
  });

  test('an email with two attachments (one of 5 MB) arrives with both, byte for byte, threaded under the email it answers, and is marked sent', async () => {
    const subject = `Your quote (${name})`;
    const id = add(subject, `question-${name.length}@customer.example`);
    const sync = new OutgoingSync(mailbox, sender, crm);
    const result = await sync.runOnce();
    expect(result).toMatchObject({ sent: 1, failed: 0, deferred: 0 });
    expect(sent(id)).toBe(true);
    const [m] = received(subject);
    expect(m.parsed.attachments.map((a) => [a.filename, a.contentType])).toEqual([
      ['quote.pdf', 'application/pdf'],
      ['data.bin', 'application/octet-stream'],
    ]);
    expect(m.parsed.attachments[0].content.equals(quote)).toBe(true);
    expect(m.parsed.attachments[1].content.equals(big)).toBe(true);
    expect(m.parsed.inReplyTo).toBe(`<question-${name.length}@customer.example>`);
    expect(m.parsed.references).toEqual(`<question-${name.length}@customer.example>`);
  }, 60_000);

  test('attachments that cannot be fetched: not sent, not marked sent, tried again, then failed with AttachmentUnavailable', async () => {
    const subject = `Unfetchable (${name})`;
    const id = add(subject);
    breakAttachments(id);
    const failed: string[] = [];
    const sync = new OutgoingSync(mailbox, sender, crm, { failed: (_id, reason) => failed.push(reason) });
    for (let attempt = 1; attempt < ATTACHMENT_FETCH_ATTEMPTS; attempt++) {
      expect(await sync.runOnce()).toMatchObject({ sent: 0, failed: 0, deferred: 1 });
      expect(pending(id)).toBe(true);
    }
    expect(await sync.runOnce()).toMatchObject({ sent: 0, failed: 1, deferred: 0 });
    expect(failed).toEqual(['AttachmentUnavailable']);
    expect(failure(id)).toBeDefined();
    expect(sent(id)).toBe(false);
    expect(received(subject)).toEqual([]);
  }, 60_000);
});
