// `make dev-cluster`: runs the local control plane until it gets SIGTERM (make dev-cluster-down).
// The Makefile starts this in the background; it writes .dev-cluster/kubeconfig (admin), one
// kubeconfig per other identity and identities.txt when ready, then the pid file.

import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ControlPlane, REPO_ROOT } from './control-plane.js';
import { setUpDevCluster } from './dev-cluster-setup.js';

const dir = path.join(REPO_ROOT, '.dev-cluster');
await rm(dir, { recursive: true, force: true });
const cp = await ControlPlane.start({ dir: path.join(dir, 'state') });
await setUpDevCluster(cp.info, dir, REPO_ROOT);
await writeFile(path.join(dir, 'pid'), String(process.pid));
const stop = async () => {
  await cp.stop();
  await rm(dir, { recursive: true, force: true });
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
setInterval(() => {}, 1 << 30);
