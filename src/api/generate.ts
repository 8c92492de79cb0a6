// Writes the generated artefacts of the API: crds/*.yaml and src/api/types.generated.ts.
// `make generate` runs it; test/unit/api-generated.test.ts fails when the committed files drift.

import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { renderCrdFiles, renderTypes } from './render.js';

const root = process.argv[2] ?? process.cwd();
const files = { ...(await renderCrdFiles()), 'src/api/types.generated.ts': await renderTypes() };
for (const [rel, text] of Object.entries(files)) {
  const file = path.join(root, rel);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, text);
  console.log(`wrote ${rel}`);
}
