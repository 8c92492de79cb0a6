// Flags of `mailsync import dynamics`: usage text, parser options and ImportFlags come from this
// table. Kept apart from import.ts so that `mailsync --help` does not load the importer.

import { integer, type FlagTable, type FlagValues } from './flags.js';

const DURATION = /^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$/;

export const IMPORT_FLAGS = {
  url: { value: 'URL', env: 'DYNAMICS_URL', help: 'the Dataverse environment (organization URL), e.g. https://contoso.crm.dynamics.com' },
  'tenant-id': { value: 'TENANT', env: 'DYNAMICS_TENANT_ID', help: 'Microsoft Entra tenant (GUID or domain) of the app registration' },
  'client-id': {
    value: 'ID',
    env: 'DYNAMICS_CLIENT_ID',
    help: 'application (client) ID of an app registration that is an application user of the environment',
  },
  'client-secret-file': {
    value: 'PATH',
    help: "file holding the app's client secret (else the environment variable DYNAMICS_CLIENT_SECRET)",
  },
  'authority-url': { value: 'URL', help: 'token authority (sovereign clouds)', defaultText: 'https://login.microsoftonline.com' },
  'ca-file': { value: 'PATH', help: 'extra CA certificates (PEM) to trust for Dataverse and the token authority' },
  namespace: {
    short: 'n',
    value: 'NS',
    help: 'namespace of the manifests, and of the Mailboxes --cutover reads',
    defaultText: "the kubeconfig context's namespace, else default",
  },
  out: {
    short: 'o',
    value: 'DIR',
    help: 'output directory: manifests, secret-stubs.yaml, MIGRATION-REPORT.md, and the cut-over state (cutover.json)',
  },
  'dry-run': {
    default: true,
    help: 'print the verification summary (with --cutover/--rollback: what would change) and write nothing; --dry-run=false writes or acts',
  },
  waves: { help: 'group the mailboxes into waves, queues first, then users: one directory each under waves/' },
  'wave-size': { value: 'N', default: 200, parse: integer(1, 10000), help: "mailboxes per wave (Microsoft's guidance: at most 200)" },
  'deployment-name': { value: 'NAME', help: 'metadata.name of the Deployment', defaultText: "the organization's name" },
  'first-sync-since': {
    value: 'DURATION',
    default: '24h',
    parse: (t: string): string => {
      if (t !== '' && !DURATION.test(t)) throw new Error('must be a duration such as 24h or 90m, or empty for none');
      return t;
    },
    help: "the Deployment's spec.firstSync.since: new mailboxes take mail received this long before their first successful test ('' for the whole Inbox)",
  },
  cutover: {
    help: 'hand over the imported mailboxes the operator runs (Enabled): set their Dataverse delivery methods so Dynamics stops processing them',
  },
  rollback: { help: 'restore every Dataverse mailbox row that --cutover changed' },
  wave: { value: 'N', parse: integer(1, 100000), help: 'with --cutover: only the mailboxes of this wave' },
  kubeconfig: { value: 'PATH', help: 'kubeconfig to use (--cutover reads the Mailboxes)', defaultText: '$KUBECONFIG, ~/.kube/config' },
} as const satisfies FlagTable;

export type ImportFlags = FlagValues<typeof IMPORT_FLAGS>;
