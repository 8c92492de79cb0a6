// Picks the protocol adapter that tests one direction of a mailbox. The reconcilers see only the
// MailboxTesting interface; this module is the one place that knows which adapter serves which
// protocol.

import { ImapAdapter } from '../mail/imap.js';
import { Pop3Adapter } from '../mail/pop3.js';
import { SmtpAdapter } from '../mail/smtp.js';
import { MailError, type ConnectionTester } from '../mail/types.js';
import type { DirectionSettings } from './settings.js';

export function testerFor(s: DirectionSettings): ConnectionTester {
  const unsupported = (why: string): ConnectionTester => ({
    test: async () => {
      throw new MailError('UnsupportedConfiguration', why);
    },
  });
  if (!s.credentials) return unsupported(`${s.authentication} authentication is not available for ${s.protocol} yet`);
  switch (s.protocol) {
    case 'IMAP':
      return new ImapAdapter(s.endpoint, s.credentials);
    case 'POP3':
      return new Pop3Adapter(s.endpoint, s.credentials);
    case 'SMTP': {
      const smtp = new SmtpAdapter(s.endpoint, s.credentials, { maxConnections: 1 });
      return {
        test: async (signal) => {
          try {
            await smtp.test(signal);
          } finally {
            smtp.close();
          }
        },
      };
    }
    default:
      return unsupported(`${s.protocol} is not supported yet`);
  }
}
