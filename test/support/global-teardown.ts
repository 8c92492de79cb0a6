import type { ControlPlane } from '../../dev/control-plane.js';

export default async function globalTeardown(): Promise<void> {
  await (globalThis as { __mailsyncControlPlane?: ControlPlane }).__mailsyncControlPlane?.stop();
}
