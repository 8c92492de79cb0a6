// Writes the chart's copies of crds/ (charts/mailsync-operator/templates/crds/) and removes
// copies whose source is gone. `--check` writes nothing and exits 1 when the copies drift.
// Run by `make generate` after the CRDs are regenerated.

import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CHART_CRD_TEMPLATE_DIR, chartTemplates, unguarded } from './chart-crds.js';
import { REPO_ROOT } from './control-plane.js';

const check = process.argv.includes('--check');
const outDir = path.join(REPO_ROOT, CHART_CRD_TEMPLATE_DIR);
const templates = await chartTemplates(path.join(REPO_ROOT, 'crds'));
await mkdir(outDir, { recursive: true });
const existing = new Set((await readdir(outDir)).filter((f) => /\.ya?ml$/.test(f)));
const drift: string[] = [];

for (const t of templates) {
  existing.delete(t.name);
  const file = path.join(outDir, t.name);
  const current = await readFile(file, 'utf8').catch(() => undefined);
  if (current === t.content) continue;
  drift.push(current === undefined ? `missing ${t.name}` : `changed ${t.name}`);
  if (!check) await writeFile(file, t.content);
}
for (const stale of existing) {
  drift.push(`stale ${stale} (no crds/${stale})`);
  if (!check) await rm(path.join(outDir, stale));
}
for (const name of unguarded(templates))
  process.stderr.write(`note: crds/${name} is neither CRDs nor an admission policy; the chart renders it unconditionally\n`);

if (check && drift.length) {
  process.stderr.write(`chart CRD templates are out of date (run \`make generate\`):\n  ${drift.join('\n  ')}\n`);
  process.exit(1);
}
process.stdout.write(
  drift.length ? `updated ${CHART_CRD_TEMPLATE_DIR}: ${drift.join(', ')}\n` : `${CHART_CRD_TEMPLATE_DIR} is up to date\n`,
);
