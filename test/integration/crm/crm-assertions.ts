// Assertions shared by the CRM connector tests.
import { CrmError, type CrmFailureReason } from '../../../src/crm/types.js';
import { expectClassifiedError } from '../../support/error-assertions.js';

/** A CrmError with this reason whose message and stack mention none of the secrets. */
export function expectCrmError(promise: Promise<unknown>, reason: CrmFailureReason, secrets: string[]): Promise<CrmError> {
  return expectClassifiedError(promise, CrmError, reason, secrets);
}
