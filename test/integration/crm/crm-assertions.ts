// Assertions shared by the CRM connector tests.
import { CrmError, type CrmFailureReason } from '../../../src/crm/types.js';

/**
 * Awaits a rejection and checks it is a CrmError with the given reason, and that neither its
 * message nor its stack mentions any of the secrets. Returns the error for further checks.
 */
export async function expectCrmError(promise: Promise<unknown>, reason: CrmFailureReason, secrets: string[]): Promise<CrmError> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  if (!(caught instanceof CrmError)) {
    throw new Error(`expected a CrmError(${reason}), got ${caught === undefined ? 'success' : String((caught as Error)?.stack ?? caught)}`);
  }
  if (caught.reason !== reason) throw new Error(`expected reason ${reason}, got ${caught.reason}: ${caught.message}`);
  for (const secret of secrets) {
    if (caught.message.includes(secret) || (caught.stack ?? '').includes(secret)) {
      throw new Error(`the error message contains a secret: ${caught.message}`);
    }
  }
  return caught;
}
