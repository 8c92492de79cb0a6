// Turns a Mailbox, its profile and its Deployment into the ACT part of a mailbox's syncer: the
// settings (Deployment spec.appointmentsContactsTasks, Mailbox spec.act), the Exchange adapter for
// the profile's server type and the CRM connector's ACT operations. src/act itself knows nothing of
// the API objects; this module does.

import type { Deployment, EmailServerProfile, Mailbox } from '../api/types.js';
import { durationMs } from '../api/quantities.js';
import { ACT_CONNECTOR_TYPES, isActConnector } from '../crm/act-types.js';
import type { CrmConnector } from '../crm/types.js';
import { MailError, type Credentials } from '../mail/types.js';
import { directionTable } from '../act/directions.js';
import { ActEngine, type ActCounts, type ActCycleCounts, type ActSettings } from '../act/engine.js';
import { EwsActAdapter } from '../act/exchange/ews.js';
import { GraphActAdapter } from '../act/exchange/graph.js';
import type { ExchangeActAdapter } from '../act/exchange/types.js';
import type { ActKind } from '../act/model.js';
import { resolveDirection, type DirectionSettings, type Lookups } from './settings.js';
import { credentialsFor } from './testers.js';

/** An active mailbox (something changed in the last cycle) is synchronized again this soon. */
export const ACTIVE_INTERVAL_MS = 10_000;

export function actSettings(
  deployment: Deployment,
  mailbox: Mailbox,
): ActSettings & { pastDays: number; futureDays: number; intervalMs: number } {
  const s = deployment.spec.appointmentsContactsTasks ?? {};
  const kinds: ActKind[] = [];
  if (s.kinds?.appointments ?? true) kinds.push('appointment');
  if (s.kinds?.contacts ?? true) kinds.push('contact');
  if (s.kinds?.tasks ?? true) kinds.push('task');
  const fd = (s.fieldDirections ?? {}) as Record<ActKind, Record<string, string> | undefined>;
  return {
    kinds,
    directions: {
      appointment: directionTable('appointment', fd.appointment),
      contact: directionTable('contact', fd.contact),
      task: directionTable('task', fd.task),
    },
    policy: s.conflictPolicy ?? 'CRMWins',
    trackingCategory: s.trackingCategory ?? `Tracked to ${deployment.metadata.namespace}/${deployment.metadata.name}`,
    propagateCancellations: s.propagateCancellations ?? false,
    dryRun: mailbox.spec.act?.dryRun ?? false,
    takeOver: mailbox.spec.act?.takeOver ?? false,
    pageSize: 100,
    pastDays: s.pastDays ?? 30,
    futureDays: s.futureDays ?? 365,
    intervalMs: durationMs(s.interval, 30_000),
  };
}

/**
 * Where ACT reaches Exchange for this mailbox: the resolved settings, their credentials and, over
 * EWS, the URL (ACT does not use Autodiscover). A MailError when ACT cannot run there.
 */
export function actConnection(
  profile: EmailServerProfile,
  mailbox: Mailbox,
  lookups: Lookups,
): { s: DirectionSettings; credentials: Credentials; url?: string } {
  const r = resolveDirection({ name: profile.metadata.name, spec: profile.spec }, mailbox.spec, 'appointmentsContactsTasks', lookups);
  if (!r.ok) throw new MailError('UnsupportedConfiguration', r.message);
  const s = r.value;
  const credentials = credentialsFor(s);
  if (!credentials)
    throw new MailError('UnsupportedConfiguration', `${s.authentication} authentication is not available for ${s.protocol}`);
  if (s.protocol !== 'EWS') return { s, credentials };
  const url =
    s.endpoint.url ?? (s.endpoint.host && !s.autodiscover ? `https://${s.endpoint.host}:${s.endpoint.port}/EWS/Exchange.asmx` : undefined);
  if (!url) {
    throw new MailError(
      'UnsupportedConfiguration',
      `profile "${profile.metadata.name}" finds EWS by Autodiscover, which appointment, contact and task sync does not use yet: set spec.incoming.url to the EWS URL (https://<server>/EWS/Exchange.asmx)`,
    );
  }
  return { s, credentials, url };
}

/** The Exchange adapter for the profile's server type; a MailError when ACT cannot run there. */
export function exchangeActAdapter(
  profile: EmailServerProfile,
  mailbox: Mailbox,
  lookups: Lookups,
  org: string,
  window: { pastDays: number; futureDays: number },
): ExchangeActAdapter {
  const { s, credentials, url } = actConnection(profile, mailbox, lookups);
  if (s.protocol === 'EWS' && url) {
    return new EwsActAdapter(
      s.endpoint,
      credentials,
      { mailbox: s.address, authentication: s.authentication === 'NTLM' ? 'NTLM' : 'Basic', impersonate: s.impersonation, url },
      org,
    );
  }
  if (s.protocol !== 'Graph')
    throw new MailError('UnsupportedConfiguration', `appointments, contacts and tasks need Exchange (EWS or Graph), not ${s.protocol}`);
  return new GraphActAdapter(
    s.endpoint,
    credentials,
    { mailbox: s.address, pastDays: window.pastDays, futureDays: window.futureDays },
    org,
  );
}

/** Why the Deployment's CRM connector cannot synchronize ACT, as the condition says it. */
function noActConnector(deployment: Deployment): MailError {
  return new MailError(
    'UnsupportedConfiguration',
    `the ${deployment.spec.crm.type} connector of Deployment "${deployment.metadata.name}" does not synchronize appointments, contacts and tasks in this version (the Webhook and Dynamics365 connectors do); set spec.appointmentsContactsTasks: None`,
  );
}

export interface ActPart {
  cycle(signal?: AbortSignal): Promise<ActCounts & { kinds: ActCycleCounts }>;
  intervalMs(): number;
  dryRun: boolean;
  /** The Exchange adapter and the kinds it synchronizes (what change notifications watch). */
  exchange: ExchangeActAdapter;
  kinds: ActKind[];
}

export function createActPart(input: {
  mailbox: Mailbox;
  profile: EmailServerProfile;
  deployment: Deployment;
  lookups: Lookups;
  crm: CrmConnector;
  itemFailed?: (kind: ActKind, item: string, reason: string, message: string) => void;
}): ActPart {
  const { mailbox, deployment, crm } = input;
  if (!isActConnector(crm)) throw noActConnector(deployment);
  const settings = actSettings(deployment, mailbox);
  const org = deployment.metadata.uid ?? `${deployment.metadata.namespace}/${deployment.metadata.name}`;
  const exchange = exchangeActAdapter(input.profile, mailbox, input.lookups, org, settings);
  const engine = new ActEngine({
    mailbox: { address: mailbox.spec.emailAddress, ownerName: mailbox.spec.owner?.name ?? mailbox.metadata.name },
    org: { uid: org, name: `${deployment.metadata.namespace}/${deployment.metadata.name}` },
    exchange,
    crm,
    settings,
    itemFailed: input.itemFailed,
  });
  let busy = false;
  return {
    dryRun: settings.dryRun,
    exchange,
    kinds: settings.kinds.filter((k) => exchange.stores[k]),
    async cycle(signal) {
      const kinds = await engine.cycle(signal);
      const total: ActCounts = { created: 0, updated: 0, deleted: 0, unlinked: 0, conflicts: 0, failed: 0, notified: 0 };
      for (const c of Object.values(kinds)) for (const k of Object.keys(total) as (keyof ActCounts)[]) total[k] += c![k];
      busy = total.created + total.updated + total.deleted + total.unlinked > 0;
      return { ...total, kinds };
    },
    // Adaptive: soon again after a change (more may follow), the Deployment's interval when idle.
    intervalMs: () => (busy ? Math.min(ACTIVE_INTERVAL_MS, settings.intervalMs) : settings.intervalMs),
  };
}

/** Test and Enable for ACT: the folders (and permissions) each synchronized kind needs. */
export async function testAct(
  profile: EmailServerProfile,
  mailbox: Mailbox,
  deployment: Deployment | undefined,
  lookups: Lookups,
  signal?: AbortSignal,
): Promise<ActKind[]> {
  // Nothing is tested, or claimed, for a CRM whose connector cannot run ACT.
  if (deployment && !ACT_CONNECTOR_TYPES.has(deployment.spec.crm.type)) throw noActConnector(deployment);
  const settings = deployment
    ? actSettings(deployment, mailbox)
    : { kinds: ['appointment', 'contact', 'task'] as ActKind[], pastDays: 30, futureDays: 365 };
  const adapter = exchangeActAdapter(profile, mailbox, lookups, '', settings);
  // Only what this server's adapter synchronizes is tested, and claimed.
  const kinds = settings.kinds.filter((k) => adapter.stores[k]);
  await adapter.test(kinds, signal);
  return kinds;
}
