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
  // Every Secret value a test creates, and every log line an operator writes during the run, go
  // to these files; global-teardown scans logs, Events and status for the values.
  process.env.MAILSYNC_TEST_SECRETS_FILE = `${cp.info.dir}/test-secrets.txt`;
  process.env.MAILSYNC_TEST_LOG_FILE = `${cp.info.dir}/operator-logs.jsonl`;
}
