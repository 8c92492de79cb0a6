// Flags of `mailsync failures`: usage text, parser options and FailuresFlags come from this table.
// Kept apart from failures.ts so that `mailsync --help` does not load the client.

import type { FlagTable, FlagValues } from './flags.js';

export const FAILURES_FLAGS = {
  namespace: {
    short: 'n',
    value: 'NS',
    help: 'namespace of the mailboxes',
    defaultText: "the kubeconfig context's namespace, else default",
  },
  'all-namespaces': { short: 'A', help: 'list the mailboxes of every namespace' },
  kubeconfig: { value: 'PATH', help: 'kubeconfig to use', defaultText: '$KUBECONFIG, ~/.kube/config' },
} as const satisfies FlagTable;

export type FailuresFlags = FlagValues<typeof FAILURES_FLAGS>;
