// The CrmTesting implementation: builds (or reuses) the Deployment's connector and calls test().

import type { Deployment } from '../api/types.js';
import type { CrmTestOutcome, CrmTesting } from '../controllers/crm-testing.js';
import type { SecretSource } from '../controllers/mailbox-testing.js';
import { CrmError } from '../crm/types.js';
import { redact } from '../log/redact.js';
import type { ConnectorCache } from './sync-parts.js';

export class ConnectCrmTesting implements CrmTesting {
  constructor(private readonly connectors: ConnectorCache) {}

  async test(deployment: Deployment, lookups: SecretSource): Promise<CrmTestOutcome> {
    try {
      await this.connectors.get(deployment, lookups).test();
      return { ok: true, reason: 'Connected', message: `connected and authenticated to the ${deployment.spec.crm.type} CRM at ${deployment.spec.crm.url}`, permanent: false };
    } catch (err) {
      if (err instanceof CrmError) return { ok: false, reason: err.reason, message: redact(err.message), permanent: err.permanent, retryAfterMs: err.opts.retryAfterMs };
      return { ok: false, reason: 'CRMError', message: redact((err as Error).message ?? String(err)), permanent: false };
    }
  }
}
