// `make run`: the operator's main job on a local default. Uses the cluster in $KUBECONFIG when
// set; otherwise starts a private control plane. Installs the CRDs, applies examples/ and runs
// the operator in the foreground with readable logs. Ctrl-C stops everything it started.

import { spawn } from 'node:child_process';
import path from 'node:path';
import { ControlPlane, REPO_ROOT } from './control-plane.js';
import { installCrds, readManifests } from './crds.js';
import { Applier } from '../src/kube/apply.js';
import { loadKubeConfig } from '../src/kube/client.js';
import { startDemo } from './demo.js';

const say = (msg: string) => process.stderr.write(`[make run] ${msg}\n`);

let cp: ControlPlane | undefined;
let kubeconfig = process.env.KUBECONFIG;
if (kubeconfig) {
  say(`using the cluster in KUBECONFIG=${kubeconfig}`);
} else {
  say('KUBECONFIG is not set: starting a local control plane (etcd + kube-apiserver)');
  cp = await ControlPlane.start();
  kubeconfig = cp.info.kubeconfigs.admin;
  say(`control plane ready at ${cp.info.server}; in another shell: export KUBECONFIG=${kubeconfig}`);
}
const kc = loadKubeConfig(kubeconfig);
await installCrds(kc);
say('CRDs installed');
const examples = await readManifests(path.join(REPO_ROOT, 'examples'));
await new Applier(kc).applyAll(examples, 'default');
say(`applied ${examples.length} objects from examples/ into namespace default (their servers are placeholders: expect ServerUnreachable)`);
const demo = await startDemo(kc);

const operator = spawn(
  process.execPath,
  [path.join(REPO_ROOT, 'dist/src/cli/mailsync.js'), 'operator', '--kubeconfig', kubeconfig, '--leader-elect=false'],
  {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'info' },
  },
);
// pino-pretty turns the JSON log lines into readable ones; the JSON stays the product's format.
const pretty = spawn(
  process.execPath,
  [path.join(REPO_ROOT, 'node_modules/pino-pretty/bin.js'), '--colorize', '--translateTime', 'SYS:HH:MM:ss', '--ignore', 'pid,hostname'],
  {
    stdio: ['pipe', 'inherit', 'inherit'],
  },
);
operator.stdout!.pipe(pretty.stdin!);

let stopping = false;
const stop = async (code: number) => {
  if (stopping) return;
  stopping = true;
  say('stopping');
  operator.kill('SIGTERM');
  await new Promise((r) => (operator.exitCode !== null ? r(null) : operator.once('exit', r)));
  pretty.stdin!.end();
  await demo.stop();
  await cp?.stop();
  process.exit(code);
};
demo.afterStart();
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
operator.once('exit', (code) => void stop(code ?? 1));
