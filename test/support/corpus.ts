// Messages for sync tests: ordinary ones of a given size, and a corpus of malformed ones.

export function goodMessage(
  i: number,
  opts: { to?: string; from?: string; size?: number; subject?: string; inReplyTo?: string; messageId?: string } = {},
): string {
  const body =
    `Message number ${i}.\r\n` +
    'Lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(Math.max(1, Math.floor((opts.size ?? 4000) / 58))) +
    '\r\n';
  return [
    `From: ${opts.from ?? `Sender ${i} <sender${i}@customer.example>`}`,
    `To: ${opts.to ?? 'ann@example.com'}`,
    `Subject: ${opts.subject ?? `Hello ${i}`}`,
    `Message-ID: <${opts.messageId ?? `msg-${i}@customer.example`}>`,
    ...(opts.inReplyTo ? [`In-Reply-To: <${opts.inReplyTo}>`] : []),
    'Date: Tue, 24 Nov 2026 08:00:00 +0000',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    body.replace(/(.{70})/g, '$1\r\n'),
  ].join('\r\n');
}

const head = (id: string, ct: string) =>
  [
    `From: bad@customer.example`,
    `To: ann@example.com`,
    `Subject: malformed ${id}`,
    `Message-ID: <${id}@customer.example>`,
    'MIME-Version: 1.0',
    `Content-Type: ${ct}`,
  ].join('\r\n');

function nested(depth: number): string {
  let inner = 'Content-Type: text/plain\r\n\r\ndeep\r\n';
  for (let d = 0; d < depth; d++) inner = `Content-Type: multipart/mixed; boundary="b${d}"\r\n\r\n--b${d}\r\n${inner}--b${d}--\r\n`;
  return inner;
}

/** Malformed messages, each with the id that names it. */
export function malformedCorpus(): { id: string; raw: string }[] {
  return [
    {
      id: 'broken-boundary',
      raw: `${head('broken-boundary', 'multipart/mixed; boundary="declared"')}\r\n\r\n--other\r\nContent-Type: text/plain\r\n\r\nbody\r\n--other--\r\n`,
    },
    { id: 'no-boundary', raw: `${head('no-boundary', 'multipart/alternative')}\r\n\r\nwhere are my parts\r\n` },
    {
      id: 'invalid-base64',
      raw: `${head('invalid-base64', 'text/plain; charset=utf-8')}\r\nContent-Transfer-Encoding: base64\r\n\r\nThis is *not* base64 at all!!! ~~~\r\n`,
    },
    { id: 'huge-header', raw: `${head('huge-header', 'text/plain')}\r\nX-Junk: ${'A'.repeat(1024 * 1024)}\r\n\r\nbody\r\n` },
    {
      id: 'deep-nesting',
      raw: `From: bad@customer.example\r\nTo: ann@example.com\r\nSubject: malformed deep-nesting\r\nMessage-ID: <deep-nesting@customer.example>\r\nMIME-Version: 1.0\r\n${nested(200)}`,
    },
  ];
}

/** A message forwarded as an attachment (message/rfc822), as an Outlook or server rule forwards it. */
export function forwardedMessage(inner: string, opts: { from: string; to: string; messageId: string }): string {
  return [
    `From: ${opts.from}`,
    `To: ${opts.to}`,
    `Subject: FW: forwarded`,
    `Message-ID: <${opts.messageId}>`,
    'Date: Tue, 24 Nov 2026 08:05:00 +0000',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="fwd-boundary"',
    '',
    '--fwd-boundary',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Forwarded by a rule.',
    '--fwd-boundary',
    'Content-Type: message/rfc822',
    '',
    inner,
    '--fwd-boundary--',
    '',
  ].join('\r\n');
}
