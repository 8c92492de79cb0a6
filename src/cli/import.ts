// `mailsync import dynamics`, also the kubectl plugin `kubectl mailsync import dynamics`: reads a
// Dynamics 365 organization's server-side synchronization configuration from its Dataverse
// environment and turns it into manifests for one namespace (src/migrate/). A dry run by default:
// it prints the verification summary and writes nothing. --cutover and --rollback hand mailboxes
// over to the operator in Dataverse and back (docs/migration.md).

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { GROUP, VERSION } from '../api/schema.js';
import { TEST_REQUESTED_AT, type Mailbox } from '../api/types.js';
import { createClients, loadKubeConfig, mergePatch, type KubeClients } from '../kube/client.js';
import { statusCode } from '../kube/errors.js';
import type { DataverseClient } from '../crm/dynamics-client.js';
import { beforeHandOver, cutover, readCutoverState, rollback, writeCutoverState } from '../migrate/cutover.js';
import { heldByCoexistence } from '../migrate/cutover-rules.js';
import { connectDataverse, readSnapshot } from '../migrate/dataverse.js';
import { mapOrganization } from '../migrate/mapper.js';
import { summaryText, type CutoverRecord } from '../migrate/report.js';
import { planWaves } from '../migrate/waves.js';
import { renderOutput, REPORT_FILE, WAVE_LABEL, writeOutput } from '../migrate/writer.js';
import { registerSecret } from '../util/redact.js';
import { UsageError } from './flags.js';
import type { ImportFlags } from './import-flags.js';

const COMMAND = 'mailsync import';

export async function importCommand(values: ImportFlags, positionals: string[]): Promise<string> {
  if (positionals.length !== 1 || positionals[0] !== 'dynamics')
    throw new UsageError(COMMAND, `expected "dynamics", got "${positionals.join(' ')}"`);
  if (values.cutover && values.rollback) throw new UsageError(COMMAND, '--cutover and --rollback exclude each other');
  if (values.wave !== undefined && !values.cutover) throw new UsageError(COMMAND, '--wave is for --cutover');
  for (const [flag, v] of [
    ['--url', values.url],
    ['--tenant-id', values.tenantId],
    ['--client-id', values.clientId],
  ] as const) {
    if (!v) throw new UsageError(COMMAND, `${flag} is required (the Dataverse environment and the app registration to read it with)`);
  }
  if ((!values.dryRun || values.cutover || values.rollback) && !values.out) {
    throw new UsageError(
      COMMAND,
      values.cutover || values.rollback
        ? '--cutover and --rollback need --out DIR: the output directory of the import, where the cut-over state is kept'
        : '--dry-run=false needs --out DIR: where to write the manifests',
    );
  }
  const clientSecret = await readClientSecret(values.clientSecretFile);
  const namespace = values.namespace ?? contextNamespace(values.kubeconfig) ?? 'default';
  const client = connectDataverse({
    url: values.url!,
    tenantId: values.tenantId!,
    clientId: values.clientId!,
    clientSecret,
    authorityUrl: values.authorityUrl,
    ca: values.caFile ? await readFile(values.caFile, 'utf8') : undefined,
  });
  const out = values.out;
  const done = out ? await readCutoverState(out) : [];

  if (values.cutover || values.rollback) return handOver(values, client, namespace, out!, done);

  // The organization as it is now, with handed-over rows as they were before the cut-over.
  const snapshot = beforeHandOver(await readSnapshot(client), done);
  const plan = mapOrganization(snapshot, {
    namespace,
    deploymentName: values.deploymentName,
    crm: {
      url: values.url!.replace(/\/+$/, ''),
      tenantId: values.tenantId!,
      clientId: values.clientId!,
      authorityUrl: values.authorityUrl,
    },
    firstSyncSince: values.firstSyncSince,
  });
  const waves = values.waves
    ? planWaves(
        plan.mailboxes.map((m) => ({ name: m.manifest.metadata.name, shared: m.shared })),
        values.waveSize,
      )
    : undefined;
  const files = renderOutput(plan, waves, done);
  const summary = summaryText(plan, waves);
  if (values.dryRun)
    return `${summary}\nDry run: nothing was written. Run again with --out DIR --dry-run=false to write the manifests and ${REPORT_FILE}.\n`;
  const { written, removed } = await writeOutput(out!, files);
  const stale = removed.length ? ` and removed ${removed.length} no longer in the organization (${removed.join(', ')})` : '';
  return `${summary}\nWrote ${written} changed files of ${files.size} to ${out}${stale}. Read ${REPORT_FILE} before applying.\n`;
}

/** --cutover and --rollback: the Dataverse side of the hand-over; cutover.json and the report's section follow every row. */
async function handOver(
  values: ImportFlags,
  client: DataverseClient,
  namespace: string,
  out: string,
  done: CutoverRecord[],
): Promise<string> {
  const save = (records: CutoverRecord[]) => writeCutoverState(out, records);
  const lines: string[] = [];
  if (values.cutover) {
    const kube = createClients(loadKubeConfig(values.kubeconfig ?? process.env.KUBECONFIG));
    const mailboxes = await importedMailboxes(kube, values, namespace);
    const result = await cutover(client, mailboxes, done, { dryRun: values.dryRun, save });
    lines.push(...describeCutover(result, values.dryRun));
    if (!values.dryRun)
      lines.push(
        ...(await requestTests(
          kube,
          namespace,
          mailboxes.filter((m) => result.changed.some((c) => c.mailbox === m.metadata.name)),
        )),
      );
  } else {
    const result = await rollback(client, done, { dryRun: values.dryRun, save });
    lines.push(
      `${values.dryRun ? 'Would restore' : 'Restored'} ${result.restored.length} Dataverse mailbox rows to their delivery methods before the cut-over:`,
    );
    lines.push(
      ...result.restored.map(
        (r) =>
          `  ${r.mailbox} (${r.mailboxId}): ${Object.entries(r.before)
            .map(([k, v]) => `${k}=${v}`)
            .join(', ')}`,
      ),
    );
    if (result.failed.length)
      lines.push(`Not restored (${result.failed.length}; run --rollback again):`, ...result.failed.map((f) => `  ${f.mailbox}: ${f.why}`));
  }
  lines.push(
    values.dryRun
      ? 'Dry run: nothing was changed. Run again with --dry-run=false to do it.'
      : `Recorded in ${path.join(out, REPORT_FILE)} (section "Cut-over").`,
  );
  return `${lines.join('\n')}\n`;
}

function describeCutover(result: Awaited<ReturnType<typeof cutover>>, dryRun: boolean): string[] {
  const lines = [
    `${dryRun ? 'Would hand over' : 'Handed over'} ${result.changed.length} mailboxes (their Dataverse delivery methods set to None for what the operator runs):`,
  ];
  for (const c of result.changed)
    lines.push(
      `  ${c.mailbox}: ${c.directions.join(', ')} (${Object.keys(c.after)
        .map((k) => `${k} ${c.before[k]} -> ${c.after[k]}`)
        .join(', ')})`,
    );
  if (result.skipped.length) lines.push(`Left alone (${result.skipped.length}):`, ...result.skipped.map((s) => `  ${s.mailbox}: ${s.why}`));
  return lines;
}

/**
 * The coexistence check holds a mailbox Dynamics processed (ProcessedByDynamics) until it is tested
 * again: once handed over, request that test (the annotation a user would set) so the operator
 * enables it now. Without the right to patch Mailboxes, say how to do it.
 */
async function requestTests(clients: KubeClients, namespace: string, handedOver: Mailbox[]): Promise<string[]> {
  // Any held direction, also of a mailbox Enabled for another one (PartiallyEnabled).
  const held = handedOver.filter((m) => heldByCoexistence(m).length > 0).map((m) => m.metadata.name);
  if (!held.length) return [];
  const at = new Date().toISOString();
  const failed: string[] = [];
  for (const name of held) {
    try {
      await clients.custom.patchNamespacedCustomObject(
        {
          group: GROUP,
          version: VERSION,
          namespace,
          plural: 'mailboxes',
          name,
          body: { metadata: { annotations: { [TEST_REQUESTED_AT]: at } } },
        },
        mergePatch(),
      );
    } catch (err) {
      if (statusCode(err) !== 403) throw err;
      failed.push(name);
    }
  }
  const lines = [
    `Requested a test of ${held.length - failed.length} mailboxes the coexistence check held (ProcessedByDynamics), so the operator enables them now.`,
  ];
  if (failed.length)
    lines.push(
      `Not allowed to request a test of ${failed.length} (patch on mailboxes): run`,
      `  kubectl annotate mailbox -n ${namespace} ${failed.join(' ')} ${TEST_REQUESTED_AT}=${at} --overwrite`,
    );
  return lines;
}

/** The Mailboxes of the namespace imported from Dynamics (of one wave with --wave), from the API server. */
async function importedMailboxes(clients: KubeClients, values: ImportFlags, namespace: string): Promise<Mailbox[]> {
  const list = (await clients.custom.listNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace,
    plural: 'mailboxes',
    ...(values.wave !== undefined ? { labelSelector: `${WAVE_LABEL}=${values.wave}` } : {}),
  })) as { items: Mailbox[] };
  return list.items;
}

async function readClientSecret(file: string | undefined): Promise<string> {
  const secret = file ? (await readFile(file, 'utf8')).trim() : process.env.DYNAMICS_CLIENT_SECRET;
  if (!secret)
    throw new UsageError(
      COMMAND,
      "the app's client secret is required: --client-secret-file PATH, or the environment variable DYNAMICS_CLIENT_SECRET",
    );
  registerSecret(secret);
  return secret;
}

/** The kubeconfig context's namespace, when there is a kubeconfig. */
function contextNamespace(kubeconfig: string | undefined): string | undefined {
  try {
    const kc = loadKubeConfig(kubeconfig ?? process.env.KUBECONFIG);
    return kc.getContextObject(kc.getCurrentContext())?.namespace;
  } catch {
    return undefined;
  }
}
