// Outlook's Thread-Index header (Exchange's PidTagConversationIndex, [MS-OXOMSG] 2.2.1.3): a 22-byte
// header block (a reserved byte, 5 bytes of time, a 16-byte conversation GUID), then 5 bytes per
// reply, base64. Outlook and Exchange keep the header block in every reply, so the GUID names the
// conversation even where In-Reply-To and References are lost.
//
// The operator writes a Thread-Index into every email it sends whose Message-ID is a UUID at a
// domain (the ones it generates): the conversation GUID is that UUID. A reply then leads back to
// the CRM email by its Message-ID, `<guid>@<domain>`, with the lookup the CRM connector already has.

const HEADER_BYTES = 22;

/** UUID text to the 16 bytes of a Microsoft GUID (the first three fields little-endian). */
function guidBytes(uuid: string): Buffer {
  const hex = uuid.replace(/-/g, '');
  const b = Buffer.from(hex, 'hex');
  return Buffer.concat([
    Buffer.from(b.subarray(0, 4)).reverse(),
    Buffer.from(b.subarray(4, 6)).reverse(),
    Buffer.from(b.subarray(6, 8)).reverse(),
    b.subarray(8),
  ]);
}

function guidText(bytes: Buffer): string {
  const hex = Buffer.concat([
    Buffer.from(bytes.subarray(0, 4)).reverse(),
    Buffer.from(bytes.subarray(4, 6)).reverse(),
    Buffer.from(bytes.subarray(6, 8)).reverse(),
    bytes.subarray(8, 16),
  ]).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const UUID_ID = /^<?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})@[^>\s]+>?$/i;

/** The Thread-Index to send with a new email of this Message-ID, or undefined when it is not `<uuid>@domain`. */
export function threadIndexFor(messageId: string, now = new Date()): string | undefined {
  const uuid = UUID_ID.exec(messageId)?.[1];
  if (!uuid) return undefined;
  // FILETIME: 100 ns intervals since 1601; the header keeps its upper bytes.
  const filetime = (BigInt(now.getTime()) + 11_644_473_600_000n) * 10_000n;
  const time = Buffer.alloc(8);
  time.writeBigUInt64BE(filetime);
  return Buffer.concat([Buffer.from([0x01]), time.subarray(0, 5), guidBytes(uuid)]).toString('base64');
}

/** The conversation GUID of a Thread-Index, or undefined when it is not one (or, with `replies`, not a reply's). */
export function conversationOf(threadIndex: string | undefined, opts: { replies?: boolean } = {}): string | undefined {
  if (!threadIndex || !/^[A-Za-z0-9+/=\s]+$/.test(threadIndex)) return undefined;
  const bytes = Buffer.from(threadIndex.replace(/\s/g, ''), 'base64');
  if (bytes.length < HEADER_BYTES || (bytes.length - HEADER_BYTES) % 5 !== 0) return undefined;
  if (opts.replies && bytes.length === HEADER_BYTES) return undefined;
  return guidText(bytes.subarray(6, HEADER_BYTES));
}

/**
 * The Message-ID an email sent by the operator in this conversation has, at the mailbox's domain;
 * undefined for a message that starts a conversation (no reply blocks: nothing to look up).
 */
export function messageIdOfConversation(threadIndex: string | undefined, mailboxAddress: string): string | undefined {
  const guid = conversationOf(threadIndex, { replies: true });
  return guid && `${guid}@${mailboxAddress.slice(mailboxAddress.lastIndexOf('@') + 1).toLowerCase()}`;
}
