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

import { randomUUID } from 'node:crypto';
import type { CrmConnector, PendingEmail } from '../crm/types.js';
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
}

export type SendOutcome = 'not-sent-transient' | 'not-sent-permanent' | 'rejected' | 'unknown';

const NEVER_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EAUTH', 'ETLS', 'CERT_HAS_EXPIRED', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE']);

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
  if (facts.http !== undefined) return facts.http >= 500 || facts.http === 429 ? 'not-sent-transient' : facts.http === 401 || facts.http === 403 || aboutAccount ? 'not-sent-permanent' : 'rejected';
  if (aboutAccount || reason === 'TLSError' || reason === 'UnsupportedConfiguration') return 'not-sent-permanent';
  if (facts.codes.some((c) => NEVER_CONNECTED.has(c)) || facts.commands.some((c) => c === 'CONN' || c.startsWith('AUTH') || c === 'STARTTLS' || c === 'EHLO')) return 'not-sent-transient';
  return 'unknown';
}

export class OutgoingSync {
  constructor(
    private readonly mailbox: OutgoingMailbox,
    private readonly sender: OutgoingSender,
    private readonly crm: CrmConnector,
    private readonly events: OutgoingEvents = {},
  ) {}

  private compose(p: PendingEmail, messageId: string): OutgoingMessage {
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
    };
  }

  /**
   * Sends what is pending, oldest first, `concurrency` at a time (the SMTP pool has as many
   * connections). A failure that affects the whole mailbox ends the cycle with it: nothing new is
   * started, what is in flight finishes.
   */
  async runOnce(limit = 50, concurrency = 16): Promise<OutgoingResult> {
    const result: OutgoingResult = { sent: 0, failed: 0, released: 0 };
    const pending = await this.crm.listPendingSend(this.mailbox.address, limit);
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
      await this.fail(p.crmEmailId, 'SendOutcomeUnknown', 'an earlier attempt was interrupted and may have been delivered; not re-sent automatically: check with the recipient and resend from the CRM if needed', result);
      return;
    }
    const domain = this.mailbox.address.slice(this.mailbox.address.lastIndexOf('@') + 1);
    const messageId = (p.messageId ?? `${randomUUID()}@${domain}`).replace(/^<|>$/g, '');
    await this.crm.markSending(p.crmEmailId, messageId);
    try {
      await this.sender.send(this.compose(p, messageId));
    } catch (err) {
      const outcome = sendOutcome(err);
      const e = classifyError(err);
      if (outcome === 'rejected') {
        await this.fail(p.crmEmailId, e.reason === 'MessageRejected' ? 'MessageRejected' : e.reason, redact(e.message), result);
        return;
      }
      if (outcome === 'unknown') {
        await this.fail(p.crmEmailId, 'SendOutcomeUnknown', `the connection failed after the message was transmitted (${redact(e.message)}); not re-sent automatically`, result);
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

  private async fail(id: string, reason: string, message: string, result: OutgoingResult): Promise<void> {
    await this.crm.markFailed(id, reason, message);
    result.failed++;
    this.events.failed?.(id, reason, message);
  }
}
