// The coexistence check of Test and Enable for mailboxes of a Dynamics365 Deployment: before a
// direction is enabled, the address's Dataverse mailbox row is read; a direction Dynamics still
// processes itself fails its test with ProcessedByDynamics (nothing would be processed twice),
// unless the Deployment hands the address over (spec.crm.dynamics.handOver): then the operator
// sets those delivery methods to None, records HandedOverFromDynamics, and the test goes on.
// The decision itself is src/crm/dynamics-coexistence.ts, shared with cut-over tooling.

import type { Deployment, Mailbox } from '../api/types.js';
import type { Caches } from '../domain/caches.js';
import type { Direction, TestOutcome } from '../domain/testing-ports.js';
import { secretSource } from '../domain/secret-source.js';
import { handOver, processedByDynamics, readMailboxRow, type CoexistenceDirection } from '../crm/dynamics-coexistence.js';
import { DynamicsConnector } from '../crm/dynamics.js';
import { DynamicsActConnector } from '../crm/dynamics-act.js';
import { actSettings } from './act.js';
import { CrmError } from '../crm/types.js';
import type { KubeClients } from '../kube/client.js';
import type { EventRecorder } from '../kube/events.js';
import type { Logger } from '../log/logger.js';
import { redact } from '../util/redact.js';
import type { ConnectorCache } from './sync-parts.js';

export interface DynamicsGateOptions {
  caches: Caches;
  /** For a connector signing in with workload identity (a ServiceAccount token of the namespace). */
  clients?: KubeClients;
  connectors: ConnectorCache;
  events?: EventRecorder;
  logger?: Logger;
}

/** Whether the Deployment hands this address over from Dynamics. */
export function handsOver(deployment: Deployment, address: string): boolean {
  const h = deployment.spec.crm.dynamics?.handOver;
  return !!h && (h.allMailboxes === true || (h.addresses ?? []).some((a) => a.toLowerCase() === address.toLowerCase()));
}

export class DynamicsGate {
  constructor(private readonly options: DynamicsGateOptions) {}

  /** What the check depends on besides Dataverse: part of the mailbox's test revision, so a change re-tests. */
  fingerprint(mailbox: Mailbox): unknown {
    const d = this.deployment(mailbox);
    return d?.spec.crm.type === 'Dynamics365' ? { dynamicsHandOver: handsOver(d, mailbox.spec.emailAddress) } : undefined;
  }

  /**
   * The failed outcome of each direction Dynamics still processes, by direction; none when the
   * mailbox may be enabled (also after a hand-over). A CRM that cannot be read fails the test
   * with the CRM's reason, retried when transient.
   */
  async check(mailbox: Mailbox, directions: Direction[]): Promise<Map<Direction, TestOutcome>> {
    const out = new Map<Direction, TestOutcome>();
    const deployment = this.deployment(mailbox);
    if (deployment?.spec.crm.type !== 'Dynamics365' || directions.length === 0) return out;
    const address = mailbox.spec.emailAddress;
    try {
      const connector = this.options.connectors.get(
        deployment,
        secretSource(this.options.caches, mailbox.metadata.namespace, this.options.clients),
      );
      if (!(connector instanceof DynamicsConnector)) return out;
      if (directions.includes('appointmentsContactsTasks') && connector instanceof DynamicsActConnector) {
        const refused = await actPrivileges(connector, deployment, mailbox);
        if (refused) {
          // Not handed over from Dynamics either: the operator cannot run it.
          out.set('appointmentsContactsTasks', refused);
          directions = directions.filter((d) => d !== 'appointmentsContactsTasks');
          if (!directions.length) return out;
        }
      }
      const row = await readMailboxRow(connector.client, address);
      const found = processedByDynamics(row, directions as CoexistenceDirection[]);
      if (found.processedByDynamics.length === 0) return out;
      if (handsOver(deployment, address)) {
        const done = await handOver(connector.client, row!, found.processedByDynamics);
        const message = `Dynamics 365 no longer processes ${address}: set ${Object.keys(done?.after ?? {}).join(', ')} of its Dataverse mailbox row to None (was: ${found.detail}), as spec.crm.dynamics.handOver of Deployment "${deployment.metadata.name}" asks`;
        this.options.logger?.info({ namespace: mailbox.metadata.namespace, mailbox: mailbox.metadata.name }, message);
        await this.options.events?.record(mailbox, 'Normal', 'HandedOverFromDynamics', message);
        return out;
      }
      const message =
        `the test passed, but Dynamics 365 still processes ${address} itself (${found.detail}), so the operator does not, or mail would be processed twice: ` +
        `list the address in spec.crm.dynamics.handOver.addresses of Deployment "${deployment.metadata.name}" (or set handOver.allMailboxes) to hand it over, ` +
        'or set its delivery methods to None in Dynamics and request a test (annotation mailsync.dev/test-requested-at)';
      for (const d of found.processedByDynamics) out.set(d, { ok: false, reason: 'ProcessedByDynamics', message, permanent: true });
    } catch (err) {
      // Our own errors (a missing Secret, say) say what to fix; the CRM's are CrmErrors already.
      const e = err instanceof CrmError ? err : new CrmError('CRMError', err instanceof Error ? err.message : String(err));
      const failed: TestOutcome = {
        ok: false,
        reason: e.reason,
        message: `${redact(e.message)} (while checking whether Dynamics 365 still processes ${address})`,
        permanent: e.permanent,
        retryAfterMs: e.retryAfterMs,
      };
      for (const d of directions) out.set(d, failed);
    }
    return out;
  }

  private deployment(mailbox: Mailbox): Deployment | undefined {
    return this.options.caches.deployments.get(mailbox.metadata.namespace, mailbox.spec.deploymentRef.name);
  }
}

/**
 * What appointment, contact and task sync needs of the Dataverse application user: the link table
 * and create/read/write/delete on the synchronized tables. A failed outcome names what is missing.
 */
async function actPrivileges(connector: DynamicsActConnector, deployment: Deployment, mailbox: Mailbox): Promise<TestOutcome | undefined> {
  const missing = await connector.actMissingPrivileges(actSettings(deployment, mailbox).kinds);
  if (!missing.length) return undefined;
  return {
    ok: false,
    reason: 'CRMAuthenticationFailed',
    message: `the Dynamics 365 application user of Deployment "${deployment.metadata.name}" lacks privileges appointment, contact and task sync needs: ${missing.join(', ')}; add them to its security role and request a test (annotation mailsync.dev/test-requested-at)`,
    permanent: true,
  };
}
