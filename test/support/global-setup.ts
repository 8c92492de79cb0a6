// One control plane for the whole jest run (suites that need their own, e.g. to restart the API
// server, start one themselves). Its connection details reach the workers through the environment.

import { ControlPlane } from '../../dev/control-plane.js';
import { installCrds } from '../../dev/crds.js';
import { loadKubeConfig } from '../../src/kube/client.js';

export default async function globalSetup(): Promise<void> {
  const cp = await ControlPlane.start();
  (globalThis as { __mailsyncControlPlane?: ControlPlane }).__mailsyncControlPlane = cp;
  await installCrds(loadKubeConfig(cp.info.kubeconfigs.admin));
  process.env.MAILSYNC_TEST_CONTROL_PLANE = `${cp.info.dir}/info.json`;
}
