// Assertions shared by the mail adapter tests.
import { MailError, type FailureReason } from '../../src/mail/types.js';
import { expectClassifiedError } from './error-assertions.js';

/** A MailError with this reason whose message and stack mention none of the secrets. */
export function expectMailError(promise: Promise<unknown>, reason: FailureReason, secrets: string[]): Promise<MailError> {
  return expectClassifiedError(promise, MailError, reason, secrets);
}
