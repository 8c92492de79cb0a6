// Fills a Dovecot mailbox quickly: one pooled LMTP transport, several messages in flight.

import nodemailer from 'nodemailer';
import type { DovecotFixture } from './dovecot.js';

export async function deliverMany(
  dovecot: DovecotFixture,
  username: string,
  count: number,
  make: (i: number) => string,
  concurrency = 4,
): Promise<void> {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: dovecot.ports.lmtp,
    lmtp: true,
    ignoreTLS: true,
    pool: true,
    maxConnections: concurrency,
    maxMessages: Infinity,
    logger: false,
  } as never);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < count; i = next++) {
      await transport.sendMail({ envelope: { from: 'bulk@customer.example', to: [username] }, raw: make(i) });
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    transport.close();
  }
}
