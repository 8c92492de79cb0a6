// The chart passes `mailsync operator` only flags and environment variables its flag table
// (src/cli/operator-flags.ts) knows: the table is the one place they are written, and a renamed
// flag breaks this test instead of a pod at start-up.

import { OPERATOR_FLAGS } from '../../../src/cli/operator-flags.js';
import { ofKind, render, valuesFile } from '../../support/helm.js';

const FLAGS = new Set(Object.keys(OPERATOR_FLAGS));
const ENVS = new Set<string>(Object.values(OPERATOR_FLAGS).flatMap((f) => ('env' in f ? [f.env] : [])));

test('every flag and environment variable the chart gives the operator is in its flag table', async () => {
  const objs = await render({ files: [valuesFile('auto-approval.yaml')], set: ['workers.enabled=true'] });
  const containers = [...ofKind(objs, 'Deployment'), ...ofKind(objs, 'StatefulSet')].flatMap(
    (o) => o.spec.template.spec.containers as { name: string; args: string[]; env: { name: string }[] }[],
  );
  expect(containers.map((c) => c.name).sort()).toEqual(['operator', 'worker']);
  for (const c of containers) {
    expect(c.args[0]).toBe('operator');
    const flags = c.args.slice(1).map((a) => /^--([a-z-]+)(=|$)/.exec(a)?.[1]);
    expect({ container: c.name, unknown: flags.filter((f) => !f || !FLAGS.has(f)) }).toEqual({ container: c.name, unknown: [] });
    const envs = c.env.map((e) => e.name);
    expect({ container: c.name, unknown: envs.filter((e) => !ENVS.has(e)) }).toEqual({ container: c.name, unknown: [] });
    expect(envs).toEqual(expect.arrayContaining(['POD_NAMESPACE', 'POD_NAME', 'WATCH_NAMESPACE', 'LOG_LEVEL', 'AUTO_APPROVE_DOMAINS']));
  }
});
