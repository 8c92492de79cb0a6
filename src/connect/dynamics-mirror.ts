// What Dynamics 365 shows of the operator's mailboxes, for Deployments that ask for it:
//
//   spec.crm.dynamics.statusMirror: true  -> each mailbox's Test and Enable results and sync state
//     are written into its Dataverse mailbox row (Incoming/Outgoing Email Status, ACT status,
//     Mailbox Test Completed On, Last Successful Sync Time), so Dynamics' Mailboxes view tells
//     the truth;
//   spec.crm.dynamics.approvalSource: DynamicsOrKubernetes -> an address approved in Dynamics
//     ("Approve Email": the row's Email Address Status is Approved) is recorded as Approved with
//     reason ApprovedInDynamics, next to the Kubernetes approve verb (docs/approval.md).
//
// Quiet by design: changed mailboxes are gathered and written every `intervalMs` per Deployment,
// in one $batch of reads and one of writes, and only what differs from the row is written. A
// mailbox whose status did not change and that awaits no approval costs no request.

import type { Deployment, Mailbox } from '../api/types.js';
import { RESOURCES } from '../api/types.js';
import { approvalOf } from '../domain/approval.js';
import type { Caches } from '../domain/caches.js';
import { secretSource } from '../domain/secret-source.js';
import { mailboxRowsPath, type DataverseMailboxRow } from '../crm/dynamics-coexistence.js';
import type { BatchOperation } from '../crm/dynamics-batch.js';
import { LOOKUP_NAMES } from '../crm/dynamics-client.js';
import { rowsOf } from '../crm/dynamics-lookups.js';
import { DynamicsConnector } from '../crm/dynamics.js';
import { getCondition, setCondition, type Condition } from '../kube/conditions.js';
import type { KubeClients } from '../kube/client.js';
import { statusCode } from '../kube/errors.js';
import type { EventRecorder } from '../kube/events.js';
import { patchStatus } from '../kube/status.js';
import { keyOf } from '../kube/watch-cache.js';
import type { Logger } from '../log/logger.js';
import type { ConnectorCache } from './sync-parts.js';

/** Mailbox table status values: 0 Not Run, 1 Success, 2 Failure. */
const STATUS = { NotRun: 0, Success: 1, Failure: 2 } as const;
/** Email Address Status (emailrouteraccessapproval): 1 Approved. */
const APPROVED_IN_DYNAMICS = 1;
/** Columns read besides those coexistence reads, to compare before writing. */
const MIRROR_COLUMNS = [
  'incomingemailstatus',
  'outgoingemailstatus',
  'actstatus',
  'testmailboxaccesscompletedon',
  'lastsuccessfulsynccompletedon',
];
/** Last Successful Sync Time is written again only when it moved this much: it changes every cycle. */
const SYNC_TIME_RESOLUTION_MS = 60 * 60_000;

/** The mailbox row's columns that mirror a Mailbox's status. */
export function mirroredColumns(m: Mailbox): Record<string, number | string> {
  const conds = m.status?.conditions;
  const of = (type: string) => {
    const c = getCondition(conds, type);
    return c?.status === 'True' ? STATUS.Success : c?.status === 'False' ? STATUS.Failure : STATUS.NotRun;
  };
  const out: Record<string, number | string> = {
    incomingemailstatus: of('IncomingEmailReady'),
    outgoingemailstatus: of('OutgoingEmailReady'),
    actstatus: of('AppointmentsContactsTasksReady'),
  };
  if (m.status?.lastTestTime) out.testmailboxaccesscompletedon = m.status.lastTestTime;
  const synced = [m.status?.sync?.incoming?.lastSyncTime, m.status?.sync?.outgoing?.lastSyncTime]
    .filter((t): t is string => !!t)
    .sort()
    .at(-1);
  if (synced) out.lastsuccessfulsynccompletedon = synced;
  return out;
}

/** The columns of `want` the row does not hold yet (times: only when they moved by the resolution). */
export function columnsToWrite(
  row: DataverseMailboxRow & Record<string, unknown>,
  want: Record<string, number | string>,
): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  for (const [k, v] of Object.entries(want)) {
    const have = row[k];
    if (typeof v === 'number' ? have !== v : !sameTime(have, v, k === 'lastsuccessfulsynccompletedon' ? SYNC_TIME_RESOLUTION_MS : 1000))
      out[k] = v;
  }
  return out;
}

function sameTime(have: unknown, want: string, resolutionMs: number): boolean {
  return typeof have === 'string' && Math.abs(Date.parse(have) - Date.parse(want)) < resolutionMs;
}

export interface DynamicsMirrorOptions {
  clients: KubeClients;
  caches: Caches;
  connectors: ConnectorCache;
  events?: EventRecorder;
  logger?: Logger;
  /** How often changes are written (and Dynamics' approvals read); default 30 s. */
  intervalMs?: number;
}

export class DynamicsMirror {
  private readonly changed = new Set<string>();
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;

  constructor(private readonly options: DynamicsMirrorOptions) {}

  start(): void {
    const note = (m: Mailbox) => {
      if (this.mirrored(m)) this.changed.add(keyOf(m));
    };
    this.options.caches.mailboxes.addHandlers({ onAdd: note, onUpdate: note });
    // Switching the mirror on writes every mailbox of the Deployment once.
    this.options.caches.deployments.addHandlers({
      onUpdate: (d) =>
        this.options.caches.mailboxes
          .list(d.metadata.namespace)
          .filter((m) => m.spec.deploymentRef.name === d.metadata.name)
          .forEach(note),
    });
    this.schedule(1000);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** Writes what changed and reads Dynamics' approvals now (tests). */
  flush(): Promise<void> {
    this.running ??= this.run().finally(() => (this.running = undefined));
    return this.running;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.flush().finally(() => this.schedule(this.options.intervalMs ?? 30_000)), delayMs);
    this.timer.unref?.();
  }

  private deploymentOf(m: Mailbox): Deployment | undefined {
    const d = this.options.caches.deployments.get(m.metadata.namespace, m.spec.deploymentRef.name);
    return d?.spec.crm.type === 'Dynamics365' ? d : undefined;
  }

  private mirrored(m: Mailbox): boolean {
    return !!this.deploymentOf(m)?.spec.crm.dynamics?.statusMirror;
  }

  /** Awaits an approval that Dynamics may give. */
  private approvable(m: Mailbox): boolean {
    const d = this.deploymentOf(m);
    return d?.spec.crm.dynamics?.approvalSource === 'DynamicsOrKubernetes' && approvalOf(m, d).state === 'Pending';
  }

  private async run(): Promise<void> {
    const byDeployment = new Map<string, { deployment: Deployment; mirror: Mailbox[]; approve: Mailbox[] }>();
    const changed = new Set(this.changed);
    this.changed.clear();
    for (const m of this.options.caches.mailboxes.list()) {
      const d = this.deploymentOf(m);
      if (!d || m.metadata.deletionTimestamp) continue;
      const mirror = changed.has(keyOf(m)) && this.mirrored(m);
      const approve = this.approvable(m);
      if (!mirror && !approve) continue;
      const key = keyOf(d);
      const entry = byDeployment.get(key) ?? { deployment: d, mirror: [], approve: [] };
      if (mirror) entry.mirror.push(m);
      if (approve) entry.approve.push(m);
      byDeployment.set(key, entry);
    }
    for (const { deployment, mirror, approve } of byDeployment.values()) {
      try {
        await this.runDeployment(deployment, mirror, approve);
      } catch (err) {
        // Tried again next time; the mailboxes' own state is unaffected.
        for (const m of mirror) this.changed.add(keyOf(m));
        this.options.logger?.warn(
          { namespace: deployment.metadata.namespace, deployment: deployment.metadata.name },
          `Dynamics 365 mailbox rows not updated: ${(err as Error).message}`,
        );
      }
    }
  }

  private async runDeployment(deployment: Deployment, mirror: Mailbox[], approve: Mailbox[]): Promise<void> {
    const connector = this.options.connectors.get(
      deployment,
      secretSource(this.options.caches, deployment.metadata.namespace, this.options.clients),
    );
    if (!(connector instanceof DynamicsConnector)) return;
    const client = connector.client;
    const addresses = [...new Set([...mirror, ...approve].map((m) => m.spec.emailAddress.toLowerCase()))];
    const paths: string[] = [];
    for (let i = 0; i < addresses.length; i += 20) paths.push(mailboxRowsPath(addresses.slice(i, i + 20), MIRROR_COLUMNS));
    const answers = await client.batch(paths.map((path) => ({ method: 'GET', path, headers: { prefer: LOOKUP_NAMES } })));
    const rows = new Map<string, DataverseMailboxRow & Record<string, unknown>>();
    answers.forEach((r, i) => {
      for (const row of rowsOf<DataverseMailboxRow & Record<string, unknown>>(client, r, paths[i]))
        if (row.emailaddress) rows.set(row.emailaddress.toLowerCase(), row);
    });
    const writes: BatchOperation[] = [];
    for (const m of mirror) {
      const row = rows.get(m.spec.emailAddress.toLowerCase());
      const body = row ? columnsToWrite(row, mirroredColumns(m)) : {};
      if (row && Object.keys(body).length)
        writes.push({ method: 'PATCH', path: `mailboxes(${row.mailboxid})`, headers: { 'if-match': '*' }, body });
    }
    if (writes.length) {
      const results = await client.batch(writes);
      const failed = results.filter((r) => r.kind !== 'one' || r.response.status >= 300).length;
      if (failed)
        this.options.logger?.warn(
          { namespace: deployment.metadata.namespace, deployment: deployment.metadata.name },
          `${failed} of ${writes.length} Dynamics 365 mailbox rows not updated`,
        );
    }
    for (const m of approve) {
      if (rows.get(m.spec.emailAddress.toLowerCase())?.emailrouteraccessapproval === APPROVED_IN_DYNAMICS) await this.recordApproval(m);
    }
  }

  /** Records Approved (ApprovedInDynamics), as the mailbox reconciler records other grants. */
  private async recordApproval(m: Mailbox): Promise<void> {
    const address = m.spec.emailAddress;
    const message = `${address} approved in Dynamics 365 (Approve Email), accepted because spec.crm.dynamics.approvalSource of deployment "${m.spec.deploymentRef.name}" is DynamicsOrKubernetes`;
    const conditions: Condition[] = setCondition(
      m.status?.conditions,
      { type: 'Approved', status: 'True', reason: 'ApprovedInDynamics', message },
      m.metadata.generation,
    );
    const next = { ...(m.status ?? {}), conditions, emailAddress: address };
    try {
      await patchStatus(
        this.options.clients,
        { ...RESOURCES.mailboxes, namespace: m.metadata.namespace, name: m.metadata.name, resourceVersion: m.metadata.resourceVersion },
        m.status,
        next,
      );
    } catch (err) {
      const code = statusCode(err);
      if (code !== 403 && code !== 422 && code !== 400 && code !== 409) throw err;
      // 409: the mailbox changed meanwhile; it is looked at again next time.
      if (code === 409) return;
      this.options.logger?.warn(
        { namespace: m.metadata.namespace, mailbox: m.metadata.name },
        `could not record the approval from Dynamics 365: the operator lacks the approve verb`,
      );
      await this.options.events?.record(
        m,
        'Warning',
        'ApprovedInDynamicsForbidden',
        `${address} is approved in Dynamics 365, but the operator may not record approvals: grant it the approve verb (chart value autoApproval.enabled), or approve with \`mailsync approve\``,
      );
      return;
    }
    await this.options.events?.record(m, 'Normal', 'ApprovedInDynamics', message);
  }
}
