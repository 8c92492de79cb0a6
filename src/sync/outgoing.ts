// The outgoing pipeline for one mailbox, one cycle: CRM emails pending send -> claim ("Sending")
// -> compose -> send through the profile's adapter -> mark sent (with our Message-ID, for later
// correlation) or failed with a reason.
//
// The rule for a send that may or may not have happened (docs/outgoing.md): an email is claimed
// before it is sent. If the attempt fails in a way that proves the message was not handed over
// (no connection, TLS, authentication, the server refused it with a reply code), the claim is
// released (transient) or the email is marked failed (refused). If the outcome is unknown (the
// connection died or timed out after the message was transmitted), the email is marked failed
// with SendOutcomeUnknown and never re-sent automatically: a duplicate email to a customer is
// worse than one a person resends. An email found still claimed at the start of a cycle (the
// worker crashed mid-send) is treated the same way.
//
// Attachments: every attachment is in hand (inline from the listing, or fetched from the CRM by
// reference) and has the size the CRM announced before the email is claimed. An email whose
// attachments cannot all be fetched is never sent without them: it stays pending and is tried
// again next cycle, and after ATTACHMENT_FETCH_ATTEMPTS it is marked failed with
// AttachmentUnavailable. A CRM that is down altogether fails the cycle instead (nothing is counted
// against the email).

import { randomUUID } from 'node:crypto';
import { CrmError, type CrmConnector, type OutgoingAttachment, type PendingEmail } from '../crm/types.js';
import { classifyError } from '../mail/errors.js';
import type { OutgoingMessage } from '../mail/types.js';
import { redact } from '../util/redact.js';
import { threadIndexFor } from './thread-index.js';
import { withToken, type TokenSettings } from './tracking-token.js';

const withThreadIndex = (messageId: string) => {
  const index = threadIndexFor(messageId);
  return index ? { headers: { 'Thread-Index': index } } : {};
};

export interface OutgoingSender {
  send(msg: OutgoingMessage): Promise<unknown>;
}

export interface OutgoingMailbox {
  key: string;
  address: string;
  sendMode: 'SendAs' | 'SendOnBehalf';
  token: TokenSettings;
}

export interface OutgoingEvents {
  sent?(crmEmailId: string, messageId: string): void;
  failed?(crmEmailId: string, reason: string, message: string): void;
}

export interface OutgoingResult {
  sent: number;
  failed: number;
  released: number;
  /** Left pending because an attachment could not be fetched yet (tried again next cycle). */
  deferred: number;
}

/** Cycles that try to fetch an email's attachments before it is failed with AttachmentUnavailable. */
export const ATTACHMENT_FETCH_ATTEMPTS = 3;
/** Attachment bytes a mailbox holds in memory at once; one email over it still goes, alone. */
const MAX_ATTACHMENT_BYTES_IN_FLIGHT = 64 * 1024 * 1024;
/** CRM failures that are about the CRM as a whole, not one attachment: they end the cycle. */
const CRM_WIDE = new Set(['CRMUnreachable', 'CRMThrottled', 'CRMAuthenticationFailed']);

type Attachments = NonNullable<OutgoingMessage['attachments']>;

export type SendOutcome = 'not-sent-transient' | 'not-sent-permanent' | 'rejected' | 'unknown';

const NEVER_CONNECTED = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAUTH',
  'ETLS',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
]);

/** Walks an error and its causes for the facts that tell whether the message left us. */
export function sendOutcome(err: unknown): SendOutcome {
  const facts: { codes: string[]; commands: string[]; smtp?: number; http?: number } = { codes: [], commands: [] };
  for (let e = err as Record<string, unknown> | undefined, i = 0; e && i < 8; e = e.cause as Record<string, unknown> | undefined, i++) {
    if (typeof e.code === 'string') facts.codes.push(e.code);
    if (typeof e.command === 'string') facts.commands.push(e.command);
    if (typeof e.responseCode === 'number') facts.smtp ??= e.responseCode;
    if (typeof e.status === 'number') facts.http ??= e.status;
    if (typeof e.statusCode === 'number') facts.http ??= e.statusCode;
  }
  const reason = classifyError(err).reason;
  // Throttled is the server's answer "not now" (HTTP 429, EWS ServerBusy, a sending quota): it took
  // nothing, whatever the status code, so the email waits for a retry.
  if (reason === 'Throttled') return 'not-sent-transient';
  // A reply code means the server answered: whatever it said, it did not take the message.
  // Refusals about the account (credentials, send-as rights) are not about this email: it waits.
  const aboutAccount = reason === 'AuthenticationFailed' || reason === 'SendAsDenied';
  if (facts.smtp !== undefined) return facts.smtp >= 500 ? (aboutAccount ? 'not-sent-permanent' : 'rejected') : 'not-sent-transient';
  if (facts.http !== undefined)
    return facts.http >= 500 || facts.http === 429
      ? 'not-sent-transient'
      : facts.http === 401 || facts.http === 403 || aboutAccount
        ? 'not-sent-permanent'
        : 'rejected';
  if (aboutAccount || reason === 'TLSError' || reason === 'UnsupportedConfiguration') return 'not-sent-permanent';
  if (
    facts.codes.some((c) => NEVER_CONNECTED.has(c)) ||
    facts.commands.some((c) => c === 'CONN' || c.startsWith('AUTH') || c === 'STARTTLS' || c === 'EHLO')
  )
    return 'not-sent-transient';
  return 'unknown';
}

export class OutgoingSync {
  /** Failed attachment fetches per email, across cycles (kept in memory: a restart starts over). */
  private readonly fetchFailures = new Map<string, number>();
  private readonly budget = new ByteBudget(MAX_ATTACHMENT_BYTES_IN_FLIGHT);

  constructor(
    private readonly mailbox: OutgoingMailbox,
    private readonly sender: OutgoingSender,
    private readonly crm: CrmConnector,
    private readonly events: OutgoingEvents = {},
  ) {}

  private compose(p: PendingEmail, messageId: string, attachments: Attachments): OutgoingMessage {
    const subject = p.trackingToken && this.mailbox.token.enabled ? withToken(p.subject, p.trackingToken) : p.subject;
    const onBehalf = this.mailbox.sendMode === 'SendOnBehalf' && p.from.address.toLowerCase() !== this.mailbox.address.toLowerCase();
    return {
      from: p.from.name ? `"${p.from.name.replace(/"/g, '')}" <${p.from.address}>` : p.from.address,
      ...(onBehalf ? { sender: this.mailbox.address } : {}),
      to: p.to.map((x) => x.address),
      cc: p.cc.map((x) => x.address),
      bcc: p.bcc.map((x) => x.address),
      subject,
      text: p.textBody,
      html: p.htmlBody,
      messageId,
      inReplyTo: p.inReplyTo,
      references: p.references,
      // A conversation header naming this email, which Outlook and Exchange keep in replies (thread-index.ts).
      ...withThreadIndex(messageId),
      ...(attachments.length ? { attachments } : {}),
    };
  }

  /**
   * Sends what is pending, oldest first, `concurrency` at a time (the SMTP pool has as many
   * connections). A failure that affects the whole mailbox ends the cycle with it: nothing new is
   * started, what is in flight finishes.
   */
  async runOnce(limit = 50, concurrency = 16, fed?: PendingEmail[]): Promise<OutgoingResult> {
    const result: OutgoingResult = { sent: 0, failed: 0, released: 0, deferred: 0 };
    // `fed`: what the Deployment's pending-send feed found for this mailbox (pending-feed.ts).
    const pending = fed ?? (await this.crm.listPendingSend(this.mailbox.address, limit));
    let next = 0;
    let fatal: unknown;
    const lane = async () => {
      while (fatal === undefined && next < pending.length) {
        const p = pending[next++];
        try {
          await this.sendOne(p, result);
        } catch (err) {
          fatal ??= err;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, concurrency) }, lane));
    if (fatal !== undefined) throw fatal;
    return result;
  }

  private async sendOne(p: PendingEmail, result: OutgoingResult): Promise<void> {
    if (p.state === 'Sending') {
      await this.fail(
        p.crmEmailId,
        'SendOutcomeUnknown',
        'an earlier attempt was interrupted and may have been delivered; not re-sent automatically: check with the recipient and resend from the CRM if needed',
        result,
      );
      return;
    }
    const size = (p.attachments ?? []).reduce((n, a) => n + Math.max(0, a.size), 0);
    await this.budget.run(size, async () => {
      const attachments = await this.attachmentsOf(p, result);
      if (attachments) await this.claimAndSend(p, attachments, result);
    });
  }

  /** Claims the email, sends it and reports the outcome (the rule for unknown outcomes is above). */
  private async claimAndSend(p: PendingEmail, attachments: Attachments, result: OutgoingResult): Promise<void> {
    const domain = this.mailbox.address.slice(this.mailbox.address.lastIndexOf('@') + 1);
    const messageId = (p.messageId ?? `${randomUUID()}@${domain}`).replace(/^<|>$/g, '');
    try {
      await this.crm.markSending(p.crmEmailId, messageId);
    } catch (err) {
      // The CRM refused to let this one email be claimed (changed since it was listed, no longer
      // pending): nothing was sent; it is looked at again next cycle.
      if (err instanceof CrmError && err.reason === 'CRMRejected') {
        result.deferred++;
        return;
      }
      throw err;
    }
    try {
      await this.sender.send(this.compose(p, messageId, attachments));
    } catch (err) {
      const outcome = sendOutcome(err);
      const e = classifyError(err);
      if (outcome === 'rejected') {
        await this.fail(p.crmEmailId, e.reason === 'MessageRejected' ? 'MessageRejected' : e.reason, redact(e.message), result);
        return;
      }
      if (outcome === 'unknown') {
        await this.fail(
          p.crmEmailId,
          'SendOutcomeUnknown',
          `the connection failed after the message was transmitted (${redact(e.message)}); not re-sent automatically`,
          result,
        );
        return;
      }
      // Certainly not sent, and the cause is the server or the credentials, not this email:
      // give the email back and end the cycle so the caller backs off.
      await this.crm.releaseSending(p.crmEmailId);
      result.released++;
      throw e;
    }
    await this.crm.markSent(p.crmEmailId, messageId, new Date().toISOString());
    result.sent++;
    this.events.sent?.(p.crmEmailId, messageId);
  }

  /**
   * Every attachment's content, checked against the size the CRM announced; undefined when one
   * could not be had (the email waits for the next cycle, or is failed after the last attempt).
   */
  private async attachmentsOf(p: PendingEmail, result: OutgoingResult): Promise<Attachments | undefined> {
    const out: Attachments = [];
    try {
      for (const a of p.attachments ?? [])
        out.push({
          filename: a.filename,
          contentType: a.contentType,
          content: await this.contentOf(p.crmEmailId, a),
          ...(a.contentId ? { cid: a.contentId } : {}),
        });
    } catch (err) {
      // A CRM that is down or throttling is not this email's fault: the cycle ends, nothing is counted.
      if (err instanceof CrmError && CRM_WIDE.has(err.reason)) throw err;
      const attempts = (this.fetchFailures.get(p.crmEmailId) ?? 0) + 1;
      const why = redact(err instanceof Error ? err.message : String(err));
      if (attempts < ATTACHMENT_FETCH_ATTEMPTS) {
        this.fetchFailures.set(p.crmEmailId, attempts);
        result.deferred++;
        return undefined;
      }
      this.fetchFailures.delete(p.crmEmailId);
      await this.fail(
        p.crmEmailId,
        'AttachmentUnavailable',
        `not sent: an attachment could not be fetched from the CRM in ${attempts} attempts (${why}); check the attachment in the CRM and send the email again`,
        result,
      );
      return undefined;
    }
    this.fetchFailures.delete(p.crmEmailId);
    return out;
  }

  private async contentOf(crmEmailId: string, a: OutgoingAttachment): Promise<Buffer> {
    const content = a.contentBase64 !== undefined ? Buffer.from(a.contentBase64, 'base64') : await this.crm.fetchAttachment(crmEmailId, a);
    if (content.length !== a.size) {
      throw new Error(`attachment "${a.filename}" has ${content.length} bytes where the CRM announced ${a.size}`);
    }
    return content;
  }

  private async fail(id: string, reason: string, message: string, result: OutgoingResult): Promise<void> {
    await this.crm.markFailed(id, reason, message);
    result.failed++;
    this.events.failed?.(id, reason, message);
  }
}

/** Bounds the attachment bytes in memory: a task waits while others hold the budget; one alone always runs. */
class ByteBudget {
  private used = 0;
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly max: number) {}

  async run<T>(bytes: number, task: () => Promise<T>): Promise<T> {
    while (this.running > 0 && this.used + bytes > this.max) await new Promise<void>((r) => this.waiting.push(r));
    this.used += bytes;
    this.running++;
    try {
      return await task();
    } finally {
      this.used -= bytes;
      this.running--;
      this.waiting.splice(0).forEach((w) => w());
    }
  }
}
