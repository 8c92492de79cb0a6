// The namespace the operator keeps its own objects in (its Leases) when no flag names one. The
// chart grants Lease access in the release namespace only, which is the namespace of the
// operator's ServiceAccount, so the answer is "the service account's namespace", found the way
// client-go finds it in a pod, plus one step for runs outside a pod with a service account's
// credentials (a developer running `mailsync operator` with the chart's identity):
//
//   (--lease-namespace, or POD_NAMESPACE, which the chart sets: the flag table reads those first)
//   1. the pod's service-account namespace file,
//   2. the namespace of the service account the credentials belong to, asked of the API server
//      (SelfSubjectReview, which every authenticated user may create),
//   3. the kubeconfig context's namespace, else "default".

import { readFile } from 'node:fs/promises';
import { AuthenticationV1Api, type KubeConfig } from '@kubernetes/client-node';

export const SERVICE_ACCOUNT_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

export interface OwnNamespace {
  namespace: string;
  /** Which rule gave the answer, for the startup log line. */
  from: string;
}

/** The namespace of a service account user name (`system:serviceaccount:NS:NAME`), if it is one. */
export function serviceAccountNamespace(user: string | undefined): string | undefined {
  return /^system:serviceaccount:([^:]+):[^:]+$/.exec(user ?? '')?.[1];
}

/** Who the API server says the credentials are; undefined when it cannot tell (or is unreachable). */
async function whoAmI(kc: KubeConfig): Promise<string | undefined> {
  try {
    const review = await kc.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
    });
    return review.status?.userInfo?.username;
  } catch {
    return undefined;
  }
}

export async function ownNamespace(kc: KubeConfig, opts: { serviceAccountFile?: string } = {}): Promise<OwnNamespace> {
  const file = opts.serviceAccountFile ?? SERVICE_ACCOUNT_NAMESPACE_FILE;
  const inPod = (await readFile(file, 'utf8').catch(() => '')).trim();
  if (inPod) return { namespace: inPod, from: file };
  const user = await whoAmI(kc);
  const sa = serviceAccountNamespace(user);
  if (sa) return { namespace: sa, from: `service account ${user}` };
  const context = kc.getContextObject(kc.getCurrentContext())?.namespace;
  if (context) return { namespace: context, from: `kubeconfig context ${kc.getCurrentContext()}` };
  return { namespace: 'default', from: 'default' };
}
