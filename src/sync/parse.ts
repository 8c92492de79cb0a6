// Raw message -> the fields of a CRM email activity, with mailparser. Problems a user must know
// about (corrupt MIME, an attachment over the limit) come back as a reason, never as a throw.

import { createHash } from 'node:crypto';
import { simpleParser, type AddressObject, type ParsedMail } from 'mailparser';
import type { IncomingEmail, Party } from '../crm/types.js';
import { guardMessage, type GuardLimits, DEFAULT_GUARD_LIMITS } from './mime-guard.js';

export type ParsedEmail = Omit<
  IncomingEmail,
  'mailbox' | 'mailboxAddress' | 'ownerKind' | 'ownerName' | 'forwardedBy' | 'sent' | 'sourceId' | 'regarding' | 'trackingToken'
>;

export type ParseResult =
  { ok: true; email: ParsedEmail; forwardedBy?: Party } | { ok: false; reason: 'CorruptMessage' | 'AttachmentTooLarge'; message: string };

export interface ParseOptions {
  maxAttachmentBytes: number;
  /** Forward mailboxes: take the forwarded message (message/rfc822 attachment) as the email. */
  unwrapForwarded?: boolean;
  guard?: GuardLimits;
}

const stripBrackets = (id: string) => id.trim().replace(/^<|>$/g, '');

function parties(a: AddressObject | AddressObject[] | undefined): Party[] {
  const list = Array.isArray(a) ? a : a ? [a] : [];
  return list
    .flatMap((o) => o.value)
    .filter((v) => v.address)
    .map((v) => ({ address: v.address!.toLowerCase(), ...(v.name ? { name: v.name } : {}) }));
}

function references(p: ParsedMail): string[] {
  const r = p.references;
  return (Array.isArray(r) ? r : r ? r.split(/\s+/) : []).filter(Boolean).map(stripBrackets);
}

function toEmail(p: ParsedMail, raw: Buffer): ParsedEmail {
  const threadIndex = p.headers.get('thread-index');
  return {
    // Without a Message-ID, a hash of the content is as stable as one for deduplication.
    messageId: p.messageId ? stripBrackets(p.messageId) : `${createHash('sha256').update(raw).digest('hex').slice(0, 32)}@mailsync.invalid`,
    from: parties(p.from)[0] ?? { address: '' },
    to: parties(p.to),
    cc: parties(p.cc),
    subject: p.subject ?? '',
    receivedAt: new Date().toISOString(),
    sentAt: p.date && !Number.isNaN(p.date.getTime()) ? p.date.toISOString() : undefined,
    textBody: p.text,
    htmlBody: p.html || undefined,
    inReplyTo: p.inReplyTo ? stripBrackets(p.inReplyTo) : undefined,
    references: references(p),
    threadIndex: typeof threadIndex === 'string' ? threadIndex : undefined,
    attachments: p.attachments.map((a) => ({
      filename: a.filename ?? 'attachment',
      contentType: a.contentType,
      size: a.size,
      contentBase64: a.content.toString('base64'),
    })),
  };
}

export async function parseMessage(raw: Buffer, opts: ParseOptions): Promise<ParseResult> {
  const guard = guardMessage(raw, opts.guard ?? DEFAULT_GUARD_LIMITS);
  if (!guard.ok) return { ok: false, reason: 'CorruptMessage', message: guard.problem };
  let parsed: ParsedMail;
  try {
    parsed = await simpleParser(raw, { skipHtmlToText: true, skipTextToHtml: true, skipImageLinks: true, skipTextLinks: true });
  } catch (err) {
    return { ok: false, reason: 'CorruptMessage', message: `the message could not be parsed: ${(err as Error).message}` };
  }
  let forwardedBy: Party | undefined;
  if (opts.unwrapForwarded) {
    const inner = parsed.attachments.find((a) => a.contentType === 'message/rfc822');
    if (inner) {
      forwardedBy = parties(parsed.from)[0];
      const unwrapped = await parseMessage(inner.content, { ...opts, unwrapForwarded: false });
      if (!unwrapped.ok) return unwrapped;
      return { ...unwrapped, forwardedBy };
    }
  }
  const big = parsed.attachments.find((a) => a.size > opts.maxAttachmentBytes);
  if (big) {
    return {
      ok: false,
      reason: 'AttachmentTooLarge',
      message: `attachment "${big.filename ?? 'unnamed'}" is ${big.size} bytes, over the limit of ${opts.maxAttachmentBytes} (spec.maxAttachmentSize)`,
    };
  }
  return { ok: true, email: toEmail(parsed, raw) };
}
