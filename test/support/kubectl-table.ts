// `kubectl get` as a person reads it: runs the real kubectl against the test control plane and
// parses its table by the header's column positions (kubectl aligns every row to them), so tests
// check printer columns exactly as they are shown.

import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { toolsDir } from './helm.js';
import { controlPlaneInfo } from './kube.js';

export type Row = Record<string, string>;

/** The rows of a kubectl table, keyed by upper-case column name; '<none>' stays as kubectl prints it. */
export function parseTable(text: string): Row[] {
  const [header, ...lines] = text.split('\n').filter((l) => l.trim());
  const starts = [...header.matchAll(/\S+/g)].map((m) => ({ name: m[0], at: m.index }));
  return lines.map((line) => Object.fromEntries(starts.map((c, i) => [c.name, line.slice(c.at, starts[i + 1]?.at ?? line.length).trim()])));
}

/** `kubectl get RESOURCE -n NAMESPACE [extra...]` as the admin, parsed; rows keyed by NAME. */
export async function kubectlGet(resource: string, namespace: string, extra: string[] = []): Promise<Map<string, Row>> {
  const { stdout } = await promisify(execFile)(
    path.join(toolsDir(), 'kubectl'),
    ['--kubeconfig', controlPlaneInfo().kubeconfigs.admin, '-n', namespace, 'get', resource, ...extra],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  return new Map(parseTable(stdout).map((r) => [r.NAME, r]));
}
