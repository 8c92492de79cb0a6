// An OutgoingMessage as nodemailer's message options, and as RFC 5322 bytes. SMTP hands the
// options to its pooled transport; Graph sends the bytes (sendMail in MIME format), so that our
// Message-ID, In-Reply-To and References reach the recipient as they do over SMTP: Graph's JSON
// format accepts no headers but X- ones, which left replies correlated by tracking token only.
// Attachments travel the same way: as MIME parts built here, for every sender.

import nodemailer, { type SendMailOptions } from 'nodemailer';
import type { OutgoingMessage } from './types.js';

export function mailOptions(msg: OutgoingMessage): SendMailOptions {
  return {
    from: msg.from,
    sender: msg.sender,
    to: msg.to,
    cc: msg.cc,
    bcc: msg.bcc,
    subject: msg.subject,
    text: msg.text,
    html: msg.html,
    messageId: msg.messageId,
    inReplyTo: msg.inReplyTo,
    references: msg.references,
    headers: msg.headers,
    // Buffers go out as they are (base64 in the MIME part): byte for byte what the CRM holds.
    attachments: msg.attachments?.map((a) => ({
      filename: a.filename,
      contentType: a.contentType,
      content: a.content,
      ...(a.cid ? { cid: a.cid } : {}),
    })),
  };
}

// nodemailer's stream transport only builds the message; it opens no connection.
const builder = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' });

/**
 * The message as MIME. `keepBcc` keeps the Bcc header, for a service that takes the recipients
 * from the headers (Graph) and removes it before delivery.
 */
export async function composeMime(msg: OutgoingMessage, opts: { keepBcc?: boolean } = {}): Promise<Buffer> {
  const info = (await builder.sendMail({ ...mailOptions(msg), ...(opts.keepBcc ? { keepBcc: true } : {}) })) as { message: Buffer };
  return info.message;
}
