// Dataverse rows -> the manifests of one namespace and the findings of the report. Pure and
// deterministic: the same snapshot gives the same plan, in the same order, every time (nothing
// here reads a clock or a random source), so re-running the import on an unchanged organization
// writes byte-identical files.

import { API_VERSION } from '../api/schema.js';
import type { DeploymentSpec, EmailServerProfileSpec, MailboxSpec } from '../api/types.js';
import { validateSpec } from '../api/validation.js';
import {
  ACT_DELIVERY,
  EMAIL_CONNECTION_CHANNEL,
  FILTERING,
  INCOMING_DELIVERY,
  optionName,
  OUTGOING_DELIVERY,
  type DataverseSnapshot,
  type FilteringRow,
  type OrganizationRow,
} from './dataverse.js';
import { Findings, type Finding } from './findings.js';
import { mapMailbox, type MappedMailbox } from './map-mailbox.js';
import { mapProfile, type MappedProfile, type Note, type SecretStub } from './map-profile.js';
import { compare, labelName, subdomainName, uniqueNames } from './names.js';

export interface MapOptions {
  namespace: string;
  /** metadata.name of the Deployment; defaults to the organization's name. */
  deploymentName?: string;
  /** The Dataverse environment and the app the importer signed in with: the Deployment's CRM connector. */
  crm: { url: string; tenantId: string; clientId: string; authorityUrl?: string };
  /** spec.firstSync.since of the Deployment ('' for none). Microsoft's wizard sets 24 hours. */
  firstSyncSince?: string;
}

export interface Manifest<S> {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: S;
}

export interface PlannedMailbox {
  manifest: Manifest<MailboxSpec>;
  shared: boolean;
  approval: MappedMailbox['approval'];
}

export interface MigrationPlan {
  namespace: string;
  organization: { name: string; url: string };
  deployment: Manifest<DeploymentSpec>;
  /** By name. */
  profiles: Manifest<EmailServerProfileSpec>[];
  /** By name. */
  mailboxes: PlannedMailbox[];
  /** By name. */
  secrets: SecretStub[];
  /** Sorted (see byFinding). */
  findings: Finding[];
}

const FILTER_NAMES = Object.keys(FILTERING) as (keyof typeof FILTERING)[];

export function mapOrganization(snap: DataverseSnapshot, opts: MapOptions): MigrationPlan {
  const findings = new Findings();
  const ns = opts.namespace;
  const org = snap.organization;
  const deploymentName = opts.deploymentName ?? labelName(org.name);
  const meta = (name: string, extra: Omit<Manifest<unknown>['metadata'], 'name' | 'namespace'> = {}) => ({ name, namespace: ns, ...extra });

  // Profiles, by name; a profile whose spec the API would refuse is left out with its mailboxes.
  const profileRows = [...snap.profiles].sort((a, b) => compare(a.name, b.name) || compare(a.emailserverprofileid, b.emailserverprofileid));
  const profileNames = uniqueNames(
    profileRows.map((p) => ({ id: p.emailserverprofileid, base: labelName(p.name) })),
    63,
  );
  const actProfiles = new Set(
    snap.mailboxes
      .filter((m) => m.actdeliverymethod === ACT_DELIVERY.ServerSideSync)
      .map((m) => m._emailserverprofile_value?.toLowerCase()),
  );
  const mappedProfiles = new Map<string, { name: string; mapped: MappedProfile }>();
  const profiles: Manifest<EmailServerProfileSpec>[] = [];
  const secrets: SecretStub[] = [];
  for (const row of profileRows) {
    const name = profileNames.get(row.emailserverprofileid)!;
    const note = findings.for(`EmailServerProfile ${name}`);
    const mapped = mapProfile(
      row,
      name,
      {
        tenantId: opts.crm.tenantId,
        clientId: opts.crm.clientId,
        authorityUrl: opts.crm.authorityUrl,
        act: actProfiles.has(row.emailserverprofileid.toLowerCase()),
      },
      note,
    );
    if (!mapped || refused('EmailServerProfile', mapped.spec, note)) continue;
    mappedProfiles.set(row.emailserverprofileid.toLowerCase(), { name, mapped });
    profiles.push({ apiVersion: API_VERSION, kind: 'EmailServerProfile', metadata: meta(name), spec: mapped.spec });
    secrets.push(...mapped.secrets);
  }

  // Mailboxes, by name (from the address).
  const rows = [...snap.mailboxes].sort((a, b) => compare(a.emailaddress ?? '', b.emailaddress ?? '') || compare(a.mailboxid, b.mailboxid));
  const names = uniqueNames(rows.map((m) => ({ id: m.mailboxid, base: subdomainName(m.emailaddress || m.name || m.mailboxid) })));
  const mailboxes: PlannedMailbox[] = [];
  const filteringOf = new Map<string, { kind: 'User' | 'Queue'; owner: string; name: string }>();
  const defaultProfileId = org._defaultemailserverprofileid_value?.toLowerCase();
  const defaultProfile = defaultProfileId ? mappedProfiles.get(defaultProfileId) : undefined;
  for (const row of rows) {
    const name = names.get(row.mailboxid)!;
    const note = findings.for(`Mailbox ${name}`);
    const profileId = row._emailserverprofile_value?.toLowerCase();
    const profile = profileId ? mappedProfiles.get(profileId) : undefined;
    const leftOut = (setting: string, value: string, why: string) =>
      findings.for(`Dynamics mailbox ${row.name ?? row.emailaddress ?? row.mailboxid} (${row.mailboxid})`)(
        'NotMigrated',
        setting,
        value,
        why,
      );
    if (profileId && !profile) {
      leftOut('mailbox.emailserverprofile', profileId, 'its email server profile could not be imported (see that profile)');
      continue;
    }
    const result = mapMailbox(
      row,
      name,
      {
        deployment: deploymentName,
        ...(profile
          ? {
              profile: {
                name: profile.name,
                exchange: profile.mapped.spec.serverType.startsWith('Exchange'),
                inactive: profile.mapped.inactive,
                mailboxSecretKeys: profile.mapped.mailboxSecretKeys,
              },
            }
          : {}),
      },
      note,
    );
    if ('skip' in result) {
      leftOut(result.setting, result.value, result.skip);
      continue;
    }
    if (!profile) {
      // Dynamics processes no mailbox without a profile; the Deployment's default may stand in.
      note(
        defaultProfile ? 'Changed' : 'Action',
        'mailbox.emailserverprofile',
        '(empty)',
        defaultProfile
          ? `no profile in Dynamics: the Deployment's default profile ${defaultProfile.name} applies`
          : 'no profile in Dynamics and no default profile: set spec.serverProfileRef',
      );
    }
    if (refused('Mailbox', result.spec, note)) continue;
    mailboxes.push({
      manifest: {
        apiVersion: API_VERSION,
        kind: 'Mailbox',
        metadata: meta(name, { annotations: sortKeys(result.annotations) }),
        spec: result.spec,
      },
      shared: result.shared,
      approval: result.approval,
    });
    if (result.secret) secrets.push(result.secret);
    if (result.spec.owner && row._regardingobjectid_value)
      filteringOf.set(name, { kind: result.spec.owner.kind, owner: row._regardingobjectid_value.toLowerCase(), name });
  }

  const deploymentNote = findings.for(`Deployment ${deploymentName}`);
  const spec = deploymentSpec(org, opts, deploymentName, defaultProfile?.name, deploymentNote);
  spec.incomingFiltering = {
    users: filtering('User', snap.userFiltering, filteringOf, FILTERING.FromCRMRecords, findings),
    queues: filtering('Queue', snap.queueFiltering, filteringOf, FILTERING.All, findings),
  };
  secrets.push({
    name: `${deploymentName}-dynamics`,
    keys: ['clientSecret'],
    usedBy: `Deployment ${deploymentName} (spec.crm.credentialsSecretRef)`,
    hint: `client secret of app ${opts.crm.clientId} in tenant ${opts.crm.tenantId}`,
  });
  if (refused('Deployment', spec, deploymentNote))
    throw new Error(`the Deployment for organization ${org.name} would be refused by the API server: ${findings.list.at(-1)?.why}`);

  return {
    namespace: ns,
    organization: { name: org.name, url: opts.crm.url },
    deployment: { apiVersion: API_VERSION, kind: 'Deployment', metadata: meta(deploymentName), spec },
    profiles,
    mailboxes,
    secrets: dedupe(secrets).sort((a, b) => compare(a.name, b.name)),
    findings: findings.sorted(),
  };
}

function deploymentSpec(
  org: OrganizationRow,
  opts: MapOptions,
  name: string,
  defaultProfile: string | undefined,
  note: Note,
): DeploymentSpec {
  const { url, tenantId, clientId, authorityUrl } = opts.crm;
  const spec: DeploymentSpec = {
    crm: {
      type: 'Dynamics365',
      url,
      credentialsSecretRef: { name: `${name}-dynamics` },
      oauth: { tenantId, clientId, ...(authorityUrl ? { authorityURL: authorityUrl } : {}) },
    },
    defaults: {
      ...(defaultProfile ? { serverProfileRef: { name: defaultProfile } } : {}),
      ...defaultDeliveryMethods(org.defaultemailsettings, note),
    },
    requireApprovedUsers: org.requireapprovalforuseremail ?? true,
    requireApprovedQueues: org.requireapprovalforqueueemail ?? true,
  };
  const max = org.maximumtrackingnumber;
  const prefixes = (org.trackingprefix ?? '').split(/[,;\s]+/).filter(Boolean);
  const token: NonNullable<DeploymentSpec['trackingToken']> = { enabled: max == null || max > 0 };
  if (prefixes[0] && /^[A-Za-z0-9]{1,20}$/.test(prefixes[0])) token.prefix = prefixes[0];
  else if (prefixes[0])
    note(
      'NotMigrated',
      'organization.trackingprefix',
      prefixes[0],
      'a tracking token prefix must be 1 to 20 letters and digits: the default CRM is used',
    );
  if (prefixes.length > 1)
    note(
      'Changed',
      'organization.trackingprefix',
      prefixes.join(','),
      `only the current prefix ${prefixes[0]} is recognised in replies; tokens with older prefixes are correlated by their headers`,
    );
  if (org.trackingtokenidbase != null && org.trackingtokenidbase >= 0) token.deploymentBase = org.trackingtokenidbase;
  if (org.trackingtokeniddigits != null && org.trackingtokeniddigits >= 1 && org.trackingtokeniddigits <= 10)
    token.userDigits = org.trackingtokeniddigits;
  if (max != null && max > 0 && String(max).length <= 9) token.counterDigits = String(max).length;
  spec.trackingToken = token;
  if (org.emailcorrelationenabled != null) spec.correlation = { enabled: org.emailcorrelationenabled };
  if (org.maxuploadfilesize != null && org.maxuploadfilesize > 0) spec.maxAttachmentSize = String(org.maxuploadfilesize);
  const since = opts.firstSyncSince ?? '24h';
  if (since) spec.firstSync = { since };
  if (org.emailconnectionchannel === EMAIL_CONNECTION_CHANNEL.EmailRouter) {
    note(
      'Action',
      'organization.emailconnectionchannel',
      optionName(EMAIL_CONNECTION_CHANNEL, org.emailconnectionchannel),
      "the organization processes email with the Email Router: move the router's configuration into Dynamics with Microsoft's migration wizard first, then import again (docs/migration.md)",
    );
  }
  if (org.isfolderbasedtrackingenabled)
    note(
      'NotMigrated',
      'organization.isfolderbasedtrackingenabled',
      true,
      'folder-level tracking is not supported: the operator tracks the Inbox',
    );
  if (org.enablesmartmatching)
    note(
      'NotMigrated',
      'organization.enablesmartmatching',
      true,
      'smart matching is not supported: replies are correlated by In-Reply-To/References and the tracking token',
    );
  if (org.ignoreinternalemail)
    note(
      'NotMigrated',
      'organization.ignoreinternalemail',
      true,
      'mail between users and queues of the organization is tracked like any other',
    );
  if (org.notifymailboxownerofemailserverlevelalerts)
    note(
      'NotMigrated',
      'organization.notifymailboxownerofemailserverlevelalerts',
      true,
      "no alert emails: failures are conditions and Events on the Mailbox, and the Helm chart's alerts",
    );
  return spec;
}

/** Deployment defaults from organization.defaultemailsettings (<EmailSettings><IncomingEmailDeliveryMethod>2</...>...). */
function defaultDeliveryMethods(
  xml: string | null | undefined,
  note: Note,
): Pick<NonNullable<DeploymentSpec['defaults']>, 'incoming' | 'outgoing' | 'appointmentsContactsTasks'> {
  const text = (xml ?? '').replace(/&lt;/g, '<').replace(/&gt;/g, '>');
  const value = (element: string): number | undefined => {
    const m = new RegExp(`<${element}>\\s*(\\d+)\\s*</${element}>`, 'i').exec(text);
    return m ? Number(m[1]) : undefined;
  };
  const out: ReturnType<typeof defaultDeliveryMethods> = {};
  const outlook = 'new users and queues processed by Dynamics 365 for Outlook: the operator defaults to None';
  const incoming = value('IncomingEmailDeliveryMethod');
  if (incoming === INCOMING_DELIVERY.ServerSideSync) out.incoming = 'ServerSideSync';
  else if (incoming === INCOMING_DELIVERY.ForwardMailbox) out.incoming = 'ForwardMailbox';
  else if (incoming !== undefined) out.incoming = 'None';
  if (incoming === INCOMING_DELIVERY.Outlook)
    note('Changed', 'organization.defaultemailsettings', `IncomingEmailDeliveryMethod ${optionName(INCOMING_DELIVERY, incoming)}`, outlook);
  const outgoing = value('OutgoingEmailDeliveryMethod');
  if (outgoing !== undefined) out.outgoing = outgoing === OUTGOING_DELIVERY.ServerSideSync ? 'ServerSideSync' : 'None';
  if (outgoing === OUTGOING_DELIVERY.Outlook)
    note('Changed', 'organization.defaultemailsettings', `OutgoingEmailDeliveryMethod ${optionName(OUTGOING_DELIVERY, outgoing)}`, outlook);
  const act = value('ACTDeliveryMethod');
  if (act !== undefined) out.appointmentsContactsTasks = act === ACT_DELIVERY.ServerSideSync ? 'ServerSideSync' : 'None';
  if (act === ACT_DELIVERY.Outlook)
    note('Changed', 'organization.defaultemailsettings', `ACTDeliveryMethod ${optionName(ACT_DELIVERY, act)}`, outlook);
  if (xml && incoming === undefined && outgoing === undefined && act === undefined) {
    note(
      'NotMigrated',
      'organization.defaultemailsettings',
      '(not understood)',
      "no delivery methods found in it: the Deployment keeps the operator's defaults",
    );
  }
  return out;
}

/**
 * The Deployment's filtering for one owner kind: the method most of the imported mailboxes of
 * that kind use (ties: the lower option value). The operator filters per owner kind, not per user
 * or queue: every mailbox that used another method is reported.
 */
function filtering(
  kind: 'User' | 'Queue',
  rows: FilteringRow[],
  mailboxes: Map<string, { kind: 'User' | 'Queue'; owner: string; name: string }>,
  dataverseDefault: number,
  findings: Findings,
): (typeof FILTER_NAMES)[number] {
  const byOwner = new Map(rows.map((r) => [r.id.toLowerCase(), r.incomingemailfilteringmethod ?? dataverseDefault]));
  const of = [...mailboxes.values()]
    .filter((m) => m.kind === kind)
    .map((m) => ({ name: m.name, value: byOwner.get(m.owner) ?? dataverseDefault }));
  const counts = new Map<number, number>();
  for (const m of of) counts.set(m.value, (counts.get(m.value) ?? 0) + 1);
  const chosen = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]?.[0] ?? dataverseDefault;
  const chosenName = FILTER_NAMES.find((n) => FILTERING[n] === chosen) ?? 'All';
  const table = kind === 'User' ? 'usersettings' : 'queue';
  for (const m of of) {
    if (m.value !== chosen) {
      findings.for(`Mailbox ${m.name}`)(
        'NotMigrated',
        `${table}.incomingemailfilteringmethod`,
        optionName(FILTERING, m.value),
        `filtering is set per owner kind, not per ${kind === 'User' ? 'user' : 'queue'}: the Deployment's spec.incomingFiltering.${kind === 'User' ? 'users' : 'queues'} (${chosenName}) applies`,
      );
    }
  }
  return chosenName;
}

/** True (and a finding) when the API server would refuse the spec's shape; CEL rules are kept by construction. */
function refused(kind: string, spec: unknown, note: Note): boolean {
  const problems = validateSpec(kind, spec);
  for (const p of problems)
    note('NotMigrated', p.field, fieldValue(spec, p.field), `the API server would refuse it (${p.message}): not imported`);
  return problems.length > 0;
}

function fieldValue(spec: unknown, field: string): string {
  let v: unknown = spec;
  for (const k of field
    .replace(/^spec\.?/, '')
    .split('.')
    .filter(Boolean))
    v = (v as Record<string, unknown> | undefined)?.[k.replace(/\[\d+\]$/, '')];
  return typeof v === 'string' ? v : JSON.stringify(v ?? null);
}

function sortKeys(o: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => compare(a, b)));
}

/** One stub per Secret name (two objects may name the same Secret). */
function dedupe(stubs: SecretStub[]): SecretStub[] {
  const out = new Map<string, SecretStub>();
  for (const s of stubs) {
    const held = out.get(s.name);
    out.set(s.name, held ? { ...held, keys: [...new Set([...held.keys, ...s.keys])].sort(), usedBy: `${held.usedBy}; ${s.usedBy}` } : s);
  }
  return [...out.values()];
}
