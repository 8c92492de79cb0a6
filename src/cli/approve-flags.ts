// Flags of `mailsync approve` and `mailsync deny`: usage text, parser options and ApproveFlags come
// from this table. Kept apart from approve.ts so that `mailsync --help` does not load the client.

import type { FlagTable, FlagValues } from './flags.js';

export const APPROVE_FLAGS = {
  namespace: { short: 'n', value: 'NS', help: 'namespace of the mailbox', defaultText: "the kubeconfig context's namespace, else default" },
  kubeconfig: { value: 'PATH', help: 'kubeconfig to use', defaultText: '$KUBECONFIG, ~/.kube/config' },
  address: { value: 'ADDRESS', help: 'the address you reviewed: refuse if the mailbox has another one by now' },
  reason: { value: 'TEXT', help: 'why, recorded in the condition message' },
} as const satisfies FlagTable;

export type ApproveFlags = FlagValues<typeof APPROVE_FLAGS>;
