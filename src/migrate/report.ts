// The verification summary (what a dry run prints) and MIGRATION-REPORT.md: counts per kind, per
// profile and per delivery method, the wave plan with its timing, and every setting that was not
// carried over as it was, with why. Pure and deterministic: no clock, sorted everywhere.

import type { Finding, FindingKind } from './findings.js';
import type { MigrationPlan, PlannedMailbox } from './mapper.js';
import { compare } from './names.js';
import { formatSeconds, MICROSOFT_CADENCE, testAndEnableSeconds, type Wave } from './waves.js';

/** One mailbox handed over to the operator by --cutover: what its Dataverse row was and became. */
export interface CutoverRecord {
  mailbox: string;
  mailboxId: string;
  directions: string[];
  before: Record<string, number | null>;
  after: Record<string, number | null>;
}

/** Who applies the output: the checks the API server makes at admission (docs/approval.md). */
export const APPLY_ROLES =
  'an identity holding, in the namespace, the mailsync-credentials-admin role (the manifests name Secrets, so the credentials admission policy ' +
  'requires get on them) and the mailsync-approver role (the approved-address and denied-address annotations, and requireApproved* set to false, need the approve verb)';

type Row = string[];

/** A plain-text table (for the terminal), columns padded, the last one left as is. */
function textTable(rows: Row[]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => `  ${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] + 2))).join('')}`.trimEnd());
}

function mdTable(rows: Row[]): string[] {
  const esc = (c: string) => c.replace(/\|/g, '\\|');
  return [
    `| ${rows[0].map(esc).join(' | ')} |`,
    `|${rows[0].map(() => '---').join('|')}|`,
    ...rows.slice(1).map((r) => `| ${r.map(esc).join(' | ')} |`),
  ];
}

const isForward = (m: PlannedMailbox) => m.manifest.spec.forwardMailbox === true;
const ownerKind = (m: PlannedMailbox) => (isForward(m) ? 'forward' : m.manifest.spec.owner?.kind === 'Queue' ? 'queue' : 'user');

function kindRows(plan: MigrationPlan): Row[] {
  const count = (k: string) => plan.mailboxes.filter((m) => ownerKind(m) === k).length;
  return [
    ['KIND', 'COUNT', ''],
    ['Deployment', '1', ''],
    ['EmailServerProfile', String(plan.profiles.length), ''],
    ['Mailbox', String(plan.mailboxes.length), `${count('queue')} queues, ${count('forward')} forward mailboxes, ${count('user')} users`],
    ['Secret (stubs to fill)', String(plan.secrets.length), ''],
  ];
}

function profileRows(plan: MigrationPlan): Row[] {
  const rows: Row[] = [['PROFILE', 'TYPE', 'QUEUES', 'FORWARD', 'USERS']];
  const of = (name: string | undefined) => plan.mailboxes.filter((m) => m.manifest.spec.serverProfileRef?.name === name);
  const line = (name: string, type: string, list: PlannedMailbox[]) => [
    name,
    type,
    ...['queue', 'forward', 'user'].map((k) => String(list.filter((m) => ownerKind(m) === k).length)),
  ];
  for (const p of plan.profiles) rows.push(line(p.metadata.name, p.spec.serverType, of(p.metadata.name)));
  const none = of(undefined);
  if (none.length) rows.push(line('(Deployment default)', '', none));
  return rows;
}

function deliveryRows(plan: MigrationPlan): Row[] {
  const specs = plan.mailboxes.map((m) => m.manifest.spec);
  const n = (pick: (s: (typeof specs)[number]) => string | undefined, v: string) => String(specs.filter((s) => pick(s) === v).length);
  return [
    ['DIRECTION', 'SERVERSIDESYNC', 'FORWARDMAILBOX', 'NONE'],
    ['incoming', n((s) => s.incoming, 'ServerSideSync'), n((s) => s.incoming, 'ForwardMailbox'), n((s) => s.incoming, 'None')],
    ['outgoing', n((s) => s.outgoing, 'ServerSideSync'), '-', n((s) => s.outgoing, 'None')],
    [
      'appointments, contacts, tasks',
      n((s) => s.appointmentsContactsTasks, 'ServerSideSync'),
      '-',
      n((s) => s.appointmentsContactsTasks, 'None'),
    ],
  ];
}

function approvalLine(plan: MigrationPlan): string {
  const n = (a: PlannedMailbox['approval']) => plan.mailboxes.filter((m) => m.approval === a).length;
  return `${n('Approved')} approved (imported with the approved-address annotation), ${n('Pending')} pending or never reviewed (imported unapproved), ${n('Rejected')} rejected (imported with the denied-address annotation)`;
}

function waveRows(waves: Wave[]): Row[] {
  return [
    ['WAVE', 'DIRECTORY', 'MAILBOXES', 'TEST AND ENABLE (MEASURED RATE)', "MICROSOFT'S CADENCE"],
    ...waves.map((w) => [
      String(w.index),
      `waves/${w.id}`,
      `${w.mailboxes.length} ${w.kind === 'queues' ? 'queues and forward mailboxes' : 'users'}`,
      `about ${formatSeconds(testAndEnableSeconds(w.mailboxes.length))}`,
      `${MICROSOFT_CADENCE.hours} h`,
    ]),
  ];
}

function waveTotals(waves: Wave[]): string {
  const total = waves.reduce((s, w) => s + w.mailboxes.length, 0);
  return `${waves.length} waves: about ${formatSeconds(testAndEnableSeconds(total))} of Test and Enable in all at the operator's measured rate (${MICROSOFT_CADENCE.mailboxes} mailboxes in ${formatSeconds(testAndEnableSeconds(MICROSOFT_CADENCE.mailboxes))}), against ${waves.length * MICROSOFT_CADENCE.hours} h at Microsoft's cadence of ${MICROSOFT_CADENCE.mailboxes} mailboxes every ${MICROSOFT_CADENCE.hours} hours`;
}

interface Group {
  kind: FindingKind;
  setting: string;
  value: string;
  why: string;
  objects: string[];
}

/** Findings with the same setting, value and reason, together. */
export function groupFindings(findings: Finding[], kind: FindingKind): Group[] {
  const groups = new Map<string, Group>();
  for (const f of findings.filter((x) => x.kind === kind)) {
    const key = JSON.stringify([f.setting, f.value, f.why]);
    const g = groups.get(key) ?? { kind, setting: f.setting, value: f.value, why: f.why, objects: [] };
    g.objects.push(f.object);
    groups.set(key, g);
  }
  return [...groups.values()]
    .map((g) => ({ ...g, objects: g.objects.sort(compare) }))
    .sort((a, b) => compare(a.setting, b.setting) || compare(a.value, b.value) || compare(a.why, b.why));
}

const some = (list: string[], max: number) =>
  list.length <= max ? list.join(', ') : `${list.slice(0, max).join(', ')} and ${list.length - max} more`;

/** What a dry run prints. */
export function summaryText(plan: MigrationPlan, waves: Wave[] | undefined): string {
  const lines = [`Organization "${plan.organization.name}" (${plan.organization.url}) into namespace "${plan.namespace}":`, ''];
  lines.push(...textTable(kindRows(plan)), '', ...textTable(profileRows(plan)), '', ...textTable(deliveryRows(plan)), '');
  lines.push(`Email address status: ${approvalLine(plan)}.`, '');
  if (waves) lines.push(...textTable(waveRows(waves)), `  ${waveTotals(waves)}.`, '');
  const notMigrated = groupFindings(plan.findings, 'NotMigrated');
  lines.push(notMigrated.length ? `Will not migrate as set (${notMigrated.length}):` : 'Everything migrates.');
  for (const g of notMigrated) lines.push(`  ${g.setting} = ${g.value} (${some(g.objects, 3)}): ${g.why}`);
  const changed = groupFindings(plan.findings, 'Changed').length;
  const actions = groupFindings(plan.findings, 'Action').length;
  lines.push(
    '',
    `Also ${changed} settings carried over in another form and ${actions} actions before applying: MIGRATION-REPORT.md lists them.`,
  );
  return `${lines.join('\n')}\n`;
}

/** MIGRATION-REPORT.md. */
export function reportMarkdown(plan: MigrationPlan, waves: Wave[] | undefined, cutover: CutoverRecord[]): string {
  const out: string[] = [
    `# Migration report: organization ${plan.organization.name}`,
    '',
    `Imported by \`mailsync import dynamics\` from ${plan.organization.url} into namespace \`${plan.namespace}\`. ` +
      'Re-running the import on an unchanged organization writes the same files; a change in Dynamics shows up as a change here.',
    '',
    `Apply it as ${APPLY_ROLES}. Fill the Secrets first (below): \`secret-stubs.yaml\` has every one with the keys it needs and no values.`,
    '',
    '## Summary',
    '',
    ...mdTable(kindRows(plan)),
    '',
    ...mdTable(profileRows(plan)),
    '',
    ...mdTable(deliveryRows(plan)),
    '',
    `Email address status: ${approvalLine(plan)}.`,
    '',
  ];
  if (waves) {
    out.push(
      '## Waves',
      '',
      'Apply `base/`, then one wave directory at a time; wait until its mailboxes are Ready (`kubectl wait --for=condition=Ready mailbox -l mailsync.dev/migration-wave=N`) before the next.',
      '',
    );
    out.push(...mdTable(waveRows(waves)), '', `${waveTotals(waves)}.`, '');
  }
  const section = (title: string, kind: FindingKind, intro: string) => {
    const groups = groupFindings(plan.findings, kind);
    out.push(`## ${title}`, '', groups.length ? intro : 'None.', '');
    if (groups.length)
      out.push(
        ...mdTable([
          ['Setting', 'Value in Dynamics', 'Where', 'What the import did and why'],
          ...groups.map((g) => [`\`${g.setting}\``, g.value, some(g.objects, 10), g.why]),
        ]),
        '',
      );
  };
  section('Not migrated', 'NotMigrated', 'Settings the operator cannot honour as they are set in Dynamics.');
  section('Carried over in another form', 'Changed', 'Settings mapped to what the operator does instead.');
  section('Actions before applying', 'Action', 'Carried over, but someone must act before these work.');
  out.push(
    '## Secrets to fill',
    '',
    'Create each before applying the objects that name it (from `secret-stubs.yaml`, or your secret manager). Never commit filled-in values.',
    '',
  );
  out.push(
    ...mdTable([['Secret', 'Keys', 'Used by', 'Hint'], ...plan.secrets.map((s) => [s.name, s.keys.join(', '), s.usedBy, s.hint ?? ''])]),
    '',
  );
  return `${out.join('\n')}\n${cutoverSection(cutover)}`;
}

export const CUTOVER_HEADING = '## Cut-over';

/** The last section of the report: what --cutover changed (written again by every --cutover and --rollback). */
export function cutoverSection(cutover: CutoverRecord[]): string {
  const out = [CUTOVER_HEADING, ''];
  if (!cutover.length) {
    out.push(
      'No mailbox handed over yet. `mailsync import dynamics --cutover --dry-run=false` hands over the Enabled ones (docs/migration.md).',
      '',
    );
  } else {
    out.push(
      'Mailboxes whose Dataverse delivery methods `--cutover` changed so that Dynamics stops processing them; `--rollback` restores the values before.',
      '',
    );
    const cols = (r: Record<string, number | null>) =>
      Object.entries(r)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ');
    out.push(
      ...mdTable([
        ['Mailbox', 'Dataverse mailbox', 'Handed over', 'Before', 'After'],
        ...cutover.map((c) => [c.mailbox, c.mailboxId, c.directions.join(', '), cols(c.before), cols(c.after)]),
      ]),
      '',
    );
  }
  return out.join('\n');
}
