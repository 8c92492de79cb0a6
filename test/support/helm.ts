// Helpers for the chart tests: the helm binary built by hack/build-control-plane.sh (or $HELM),
// run with private config/cache directories and an explicit kubeconfig, and rendering the chart.

import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import yaml from 'js-yaml';
import type { KubernetesObject } from '@kubernetes/client-node';
import { REPO_ROOT, resolveAssets } from '../../dev/control-plane.js';

export const CHART_DIR = path.join(REPO_ROOT, 'charts', 'mailsync-operator');
export const CHART_VALUES_DIR = path.join(REPO_ROOT, 'test', 'fixtures', 'chart-values');
export const valuesFile = (name: string): string => path.join(CHART_VALUES_DIR, name);

export type Manifest = KubernetesObject & { [key: string]: any };

let tools: string | undefined;
/** The directory holding helm, kubectl, kube-apiserver and etcd (built once, cached). */
export function toolsDir(): string {
  tools ??= execFileSync(path.join(REPO_ROOT, 'hack', 'build-control-plane.sh'), {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
  return tools;
}

export const helmBinary = (): string => process.env.HELM || path.join(toolsDir(), 'helm');

let kubeVersion: string | undefined;
/**
 * The Kubernetes version the tests run against, for `helm template --kube-version`. The helm that
 * hack/build-control-plane.sh builds assumes that version already, but $HELM may name a helm built
 * from source without Helm's release ldflags, which assumes Kubernetes 1.20 and would refuse the
 * chart's kubeVersion constraint.
 */
export function testKubeVersion(): string {
  kubeVersion ??= execFileSync(path.join(resolveAssets(), 'kube-apiserver'), ['--version'], { encoding: 'utf8' })
    .trim()
    .replace(/^Kubernetes v/, '');
  return kubeVersion;
}

// Helm's config, cache and data directories, private to this test process.
let helmHome: string | undefined;
function helmEnv(kubeconfig?: string): NodeJS.ProcessEnv {
  helmHome ??= mkdtempSync(path.join(os.tmpdir(), 'mailsync-helm-'));
  return {
    PATH: process.env.PATH,
    HOME: helmHome,
    HELM_CONFIG_HOME: path.join(helmHome, 'config'),
    HELM_CACHE_HOME: path.join(helmHome, 'cache'),
    HELM_DATA_HOME: path.join(helmHome, 'data'),
    // Never fall back to the user's ~/.kube/config.
    KUBECONFIG: kubeconfig ?? path.join(helmHome, 'no-kubeconfig'),
  };
}

export interface HelmResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs helm; throws with its stderr on a non-zero exit unless `allowFailure`. */
export function helm(args: string[], opts: { kubeconfig?: string; allowFailure?: boolean } = {}): Promise<HelmResult> {
  return new Promise((resolve, reject) => {
    execFile(
      helmBinary(),
      args,
      { env: helmEnv(opts.kubeconfig), maxBuffer: 64 * 1024 * 1024, timeout: 120_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        if (code !== 0 && !opts.allowFailure) reject(new Error(`helm ${args.join(' ')} failed (${code}):\n${stderr}`));
        else resolve({ code, stdout, stderr });
      },
    );
  });
}

export interface RenderOptions {
  release?: string;
  namespace?: string;
  files?: string[];
  set?: string[];
  /** Extra capabilities, e.g. monitoring.coreos.com/v1/ServiceMonitor. */
  apiVersions?: string[];
  chartDir?: string;
}

export function templateArgs(o: RenderOptions = {}): string[] {
  return [
    'template',
    o.release ?? 'mailsync-operator',
    o.chartDir ?? CHART_DIR,
    '--namespace',
    o.namespace ?? 'mailsync-system',
    '--kube-version',
    testKubeVersion(),
    ...(o.files ?? []).flatMap((f) => ['-f', f]),
    ...(o.set ?? []).flatMap((s) => ['--set', s]),
    ...(o.apiVersions ?? []).flatMap((a) => ['--api-versions', a]),
  ];
}

export function parseManifests(text: string): Manifest[] {
  return yaml.loadAll(text).filter((d): d is Manifest => !!d && typeof d === 'object');
}

/** `helm template` of the chart, parsed. */
export async function render(o: RenderOptions = {}): Promise<Manifest[]> {
  return parseManifests((await helm(templateArgs(o))).stdout);
}

/** `helm template` that is expected to fail; returns helm's error output. */
export async function renderError(o: RenderOptions = {}): Promise<string> {
  const r = await helm(templateArgs(o), { allowFailure: true });
  if (r.code === 0) throw new Error(`helm template succeeded, expected a failure (values: ${JSON.stringify(o)})`);
  return r.stderr;
}

export const ofKind = (objs: Manifest[], kind: string): Manifest[] => objs.filter((o) => o.kind === kind);

export function one(objs: Manifest[], kind: string, name?: string): Manifest {
  const hits = objs.filter((o) => o.kind === kind && (name === undefined || o.metadata?.name === name));
  if (hits.length !== 1)
    throw new Error(
      `expected one ${kind}${name ? ` ${name}` : ''}, found ${hits.length}: ${objs.map((o) => `${o.kind}/${o.metadata?.name}`).join(', ')}`,
    );
  return hits[0];
}

/** "Kind" -> count, for asserting which kinds a set of values renders. */
export function kindCounts(objs: Manifest[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const o of objs) out[o.kind!] = (out[o.kind!] ?? 0) + 1;
  return out;
}
