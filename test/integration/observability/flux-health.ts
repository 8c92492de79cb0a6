// Evaluates the Flux healthCheckExprs of docs/flux/kustomization.yaml against live objects with the
// API server's own CEL (cel-go, as in Flux's kustomize-controller). There is no Flux here, so the
// expressions run inside a ValidatingAdmissionPolicy in Warn mode: each expression becomes one
// validation that "fails" (and so emits a warning naming it) when the expression is true, and a
// dry-run update of an object returns the warnings. Flux binds the object's top-level fields as
// variables (`status`, `metadata`, `spec`); a policy sees them under `object.`, so the expressions
// are rewritten with that prefix and are otherwise evaluated as written.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { HttpMethod, RequestContext, type KubeConfig } from '@kubernetes/client-node';
import yaml from 'js-yaml';
import { fetch } from 'undici';
import { REPO_ROOT } from '../../../dev/control-plane.js';
import { rawRequest } from '../../../src/kube/raw.js';

export interface HealthCheckExpr {
  apiVersion: string;
  kind: string;
  inProgress?: string;
  failed?: string;
  current: string;
}
export type FluxVerdict = 'inProgress' | 'failed' | 'current' | 'undecided';
const ORDER = ['inProgress', 'failed', 'current'] as const; // Flux evaluates in this order

export async function fluxHealthCheckExprs(): Promise<HealthCheckExpr[]> {
  const docs = yaml.loadAll(await readFile(path.join(REPO_ROOT, 'docs/flux/kustomization.yaml'), 'utf8')) as {
    kind: string;
    spec: { healthCheckExprs?: HealthCheckExpr[] };
  }[];
  const k = docs.find((d) => d.kind === 'Kustomization' && d.spec.healthCheckExprs);
  if (!k) throw new Error('docs/flux/kustomization.yaml has no Kustomization with healthCheckExprs');
  return k.spec.healthCheckExprs!;
}

const asPolicyExpression = (expr: string) => expr.replace(/(^|[^.\w'])(metadata|status|spec)\b/g, '$1object.$2');

/** Installs the expressions as a Warn-mode policy bound to one namespace; returns the cleanup. */
export async function installAsPolicy(kc: KubeConfig, namespace: string, exprs: HealthCheckExpr[]): Promise<() => Promise<void>> {
  const name = `flux-health-${namespace}`;
  const validations = exprs.flatMap((e) =>
    ORDER.filter((f) => e[f]).map((f) => ({
      expression: `object.kind != '${e.kind}' || !(${asPolicyExpression(e[f]!)})`,
      message: `flux:${e.kind}:${f}`,
    })),
  );
  await rawRequest(kc, 'POST', '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies', {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicy',
    metadata: { name },
    spec: {
      failurePolicy: 'Fail',
      matchConstraints: {
        resourceRules: [
          {
            apiGroups: ['mailsync.dev'],
            apiVersions: ['*'],
            operations: ['UPDATE'],
            resources: ['mailboxes', 'emailserverprofiles', 'deployments'],
          },
        ],
      },
      validations,
    },
  });
  await rawRequest(kc, 'POST', '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings', {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicyBinding',
    metadata: { name },
    spec: {
      policyName: name,
      validationActions: ['Warn'],
      matchResources: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': namespace } } },
    },
  });
  return async () => {
    await rawRequest(kc, 'DELETE', `/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings/${name}`).catch(
      () => undefined,
    );
    await rawRequest(kc, 'DELETE', `/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/${name}`).catch(() => undefined);
  };
}

/** The warnings of a dry-run no-op update of the object: the expressions that were true. */
async function trueExpressions(
  kc: KubeConfig,
  plural: string,
  namespace: string,
  name: string,
): Promise<{ kind: string; field: string }[]> {
  const cluster = kc.getCurrentCluster()!;
  const url = `${cluster.server}/apis/mailsync.dev/v1alpha1/namespaces/${namespace}/${plural}/${name}?dryRun=All`;
  const ctx = new RequestContext(url, HttpMethod.PATCH);
  await kc.applySecurityAuthentication(ctx);
  const res = await fetch(url, {
    method: 'PATCH',
    headers: { ...ctx.getHeaders(), accept: 'application/json', 'content-type': 'application/merge-patch+json' },
    body: JSON.stringify({ metadata: { annotations: { 'test.mailsync.dev/health-probe': String(Date.now()) } } }),
    dispatcher: ctx.getDispatcher(),
  });
  const body = await res.text();
  if (!res.ok) throw new Error(`dry-run update of ${plural}/${name}: HTTP ${res.status}: ${body}`);
  const warnings = res.headers.get('warning') ?? '';
  return [...warnings.matchAll(/flux:(\w+):(inProgress|failed|current)/g)].map((m) => ({ kind: m[1], field: m[2] }));
}

/**
 * Flux's verdict for a live object: the first of inProgress, failed, current that is true.
 * `undecided` when none is (Flux keeps waiting); the raw list helps when an assertion fails.
 */
export async function fluxHealth(
  kc: KubeConfig,
  plural: string,
  namespace: string,
  name: string,
): Promise<{ verdict: FluxVerdict; trueExprs: string[] }> {
  const found = await trueExpressions(kc, plural, namespace, name);
  const fields = new Set(found.map((f) => f.field));
  return { verdict: ORDER.find((f) => fields.has(f)) ?? 'undecided', trueExprs: found.map((f) => `${f.kind}:${f.field}`) };
}
