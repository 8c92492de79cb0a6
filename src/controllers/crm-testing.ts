// What the Deployment reconciler needs from the CRM side, as an interface: test the connector a
// Deployment describes. The implementation lives in src/connect.

import type { Deployment } from '../api/types.js';
import type { SecretSource } from './mailbox-testing.js';

export interface CrmTestOutcome {
  ok: boolean;
  /** Connected, or CRMUnreachable, CRMAuthenticationFailed, CRMThrottled, CRMError, ... */
  reason: string;
  message: string;
  permanent: boolean;
  retryAfterMs?: number;
}

export interface CrmTesting {
  test(deployment: Deployment, lookups: SecretSource): Promise<CrmTestOutcome>;
}
