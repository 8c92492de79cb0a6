// What the Deployment reconciler needs from the CRM side, as an interface: test the connector a
// Deployment describes. The implementation lives in src/connect.

import type { Deployment } from '../api/types.js';
import type { SecretSource, TestOutcome } from './mailbox-testing.js';

/** A mailbox test's outcome shape; `reason` is Connected, or CRMUnreachable, CRMAuthenticationFailed, CRMThrottled, CRMError, ... */
export type CrmTestOutcome = TestOutcome;

export interface CrmTesting {
  test(deployment: Deployment, lookups: SecretSource): Promise<CrmTestOutcome>;
}
