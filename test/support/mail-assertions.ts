// Assertions shared by the mail adapter tests.
import { MailError, type FailureReason } from '../../src/mail/types.js';

/**
 * Awaits a rejection and checks it is a MailError with the given reason, and that its message
 * (and stack) mention none of the secrets. Returns the error for further checks.
 */
export async function expectMailError(promise: Promise<unknown>, reason: FailureReason, secrets: string[]): Promise<MailError> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  if (!(caught instanceof MailError)) {
    throw new Error(`expected a MailError(${reason}), got ${caught === undefined ? 'success' : String((caught as Error)?.stack ?? caught)}`);
  }
  if (caught.reason !== reason) throw new Error(`expected reason ${reason}, got ${caught.reason}: ${caught.message}`);
  for (const secret of secrets) {
    if (caught.message.includes(secret) || (caught.stack ?? '').includes(secret)) {
      throw new Error(`the error message contains a secret: ${caught.message}`);
    }
  }
  return caught;
}
