// Writes the generated artefacts of the API: crds/*.yaml, src/api/types.generated.ts, the
// reason tables of docs/observability.md and the table of columns and conditions in docs/status.md.
// `make generate` runs it; test/unit/api-generated.test.ts fails when the committed files drift.

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { renderCrdFiles, renderTypes } from './render.js';
import { withReasonTables } from './reasons-doc.js';
import { withStatusTable } from './status-doc.js';

const root = process.argv[2] ?? process.cwd();
const observability = 'docs/observability.md';
const status = 'docs/status.md';
const files = {
  ...(await renderCrdFiles()),
  'src/api/types.generated.ts': await renderTypes(),
  // The reason tables inside the observability guide (src/api/reasons.ts).
  [observability]: withReasonTables(await readFile(path.join(root, observability), 'utf8')),
  // What every printer column and condition means (src/api/schema.ts, src/api/reasons.ts).
  [status]: withStatusTable(await readFile(path.join(root, status), 'utf8')),
};
for (const [rel, text] of Object.entries(files)) {
  const file = path.join(root, rel);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, text);
  console.log(`wrote ${rel}`);
}
