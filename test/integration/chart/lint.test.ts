// `helm lint --strict` is clean for the defaults and for each representative values file.

import { readdirSync } from 'node:fs';
import { CHART_DIR, CHART_VALUES_DIR, helm, testKubeVersion, valuesFile } from '../../support/helm.js';

const fixtures = readdirSync(CHART_VALUES_DIR)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

test('there are representative values files to lint', () => {
  expect(fixtures).toEqual(
    expect.arrayContaining(['production.yaml', 'auto-approval.yaml', 'second-release.yaml', 'test-identities.yaml']),
  );
});

test.each([['(defaults)'], ...fixtures.map((f) => [f])])('helm lint --strict with %s', async (file) => {
  const args = ['lint', '--strict', CHART_DIR, '--namespace', 'mailsync-system', '--kube-version', testKubeVersion()];
  if (file !== '(defaults)') args.push('-f', valuesFile(file));
  const r = await helm(args, { allowFailure: true });
  const out = r.stdout + r.stderr;
  expect(out).toContain('1 chart(s) linted, 0 chart(s) failed');
  expect(out).not.toMatch(/\[(WARNING|ERROR)\]/);
  expect(r.code).toBe(0);
});
