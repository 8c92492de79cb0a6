// Writes the generated artefacts of the API: crds/*.yaml, src/api/types.generated.ts and the
// reason tables of docs/observability.md.
// `make generate` runs it; test/unit/api-generated.test.ts fails when the committed files drift.

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { renderCrdFiles, renderTypes } from './render.js';
import { withReasonTables } from './reasons-doc.js';

const root = process.argv[2] ?? process.cwd();
const observability = 'docs/observability.md';
const files = {
  ...(await renderCrdFiles()),
  'src/api/types.generated.ts': await renderTypes(),
  // The reason tables inside the observability guide (src/api/reasons.ts).
  [observability]: withReasonTables(await readFile(path.join(root, observability), 'utf8')),
};
for (const [rel, text] of Object.entries(files)) {
  const file = path.join(root, rel);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, text);
  console.log(`wrote ${rel}`);
}
