// The CrmTesting implementation: builds (or reuses) the Deployment's connector and calls test().

import type { Deployment } from '../api/types.js';
import type { CrmTestOutcome, CrmTesting } from '../domain/testing-ports.js';
import type { SecretSource } from '../domain/secret-source.js';
import { CrmError } from '../crm/types.js';
import type { Logger } from '../log/logger.js';
import { redact } from '../util/redact.js';
import type { ConnectorCache } from './sync-parts.js';

export class ConnectCrmTesting implements CrmTesting {
  /** `logger`: where what the CRM said about a failed test goes, at debug (never to status). */
  constructor(
    private readonly connectors: ConnectorCache,
    private readonly logger?: Logger,
  ) {}

  async test(deployment: Deployment, lookups: SecretSource): Promise<CrmTestOutcome> {
    try {
      await this.connectors.get(deployment, lookups).test();
      return {
        ok: true,
        reason: 'Connected',
        message: `connected and authenticated to the ${deployment.spec.crm.type} CRM at ${deployment.spec.crm.url}`,
        permanent: false,
      };
    } catch (err) {
      if (err instanceof CrmError && err.serverText)
        this.logger?.debug(
          {
            namespace: deployment.metadata.namespace,
            deployment: deployment.metadata.name,
            reason: err.reason,
            serverText: err.serverText,
          },
          'CRM test failed; what the CRM said',
        );
      if (err instanceof CrmError)
        return {
          ok: false,
          reason: err.reason,
          message: redact(err.message),
          permanent: err.permanent,
          retryAfterMs: err.opts.retryAfterMs,
        };
      return { ok: false, reason: 'CRMError', message: redact((err as Error).message ?? String(err)), permanent: false };
    }
  }
}
