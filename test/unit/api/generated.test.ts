// The committed CRDs and generated types must be exactly what src/api/schema.ts renders.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { REPO_ROOT } from '../../../dev/control-plane.js';
import { renderCrdFiles, renderTypes } from '../../../src/api/render.js';

test('crds/ matches src/api/schema.ts (run `make generate` after changing the schema)', async () => {
  const files = await renderCrdFiles();
  expect(Object.keys(files).length).toBe(3);
  for (const [rel, text] of Object.entries(files)) {
    expect({ file: rel, text: await readFile(path.join(REPO_ROOT, rel), 'utf8') }).toEqual({ file: rel, text });
  }
});

test('src/api/types.generated.ts matches src/api/schema.ts (run `make generate`)', async () => {
  expect(await readFile(path.join(REPO_ROOT, 'src/api/types.generated.ts'), 'utf8')).toEqual(await renderTypes());
});
