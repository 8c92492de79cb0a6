// `make dev-cluster`: runs the local control plane until it gets SIGTERM (make dev-cluster-down).
// The Makefile starts this in the background; it writes .dev-cluster/kubeconfig when ready.

import { copyFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ControlPlane, REPO_ROOT } from './control-plane.js';
import { installCrds } from './crds.js';
import { loadKubeConfig } from '../src/kube/client.js';

const dir = path.join(REPO_ROOT, '.dev-cluster');
await rm(dir, { recursive: true, force: true });
const cp = await ControlPlane.start({ dir: path.join(dir, 'state') });
await installCrds(loadKubeConfig(cp.info.kubeconfigs.admin));
await copyFile(cp.info.kubeconfigs.admin, path.join(dir, 'kubeconfig'));
await writeFile(path.join(dir, 'pid'), String(process.pid));
const stop = async () => {
  await cp.stop();
  await rm(dir, { recursive: true, force: true });
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
setInterval(() => {}, 1 << 30);
