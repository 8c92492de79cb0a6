// The committed CRDs and generated types must be exactly what src/api/schema.ts renders.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { REPO_ROOT } from '../../../dev/control-plane.js';
import { renderCrdFiles, renderTypes } from '../../../src/api/render.js';
import { BEGIN, END, renderStatusTable } from '../../../src/api/status-doc.js';
import { KINDS } from '../../../src/api/schema.js';

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

test('docs/status.md carries the table of every printer column and condition (run `make generate`)', async () => {
  const doc = await readFile(path.join(REPO_ROOT, 'docs/status.md'), 'utf8');
  const between = doc.slice(doc.indexOf(BEGIN) + BEGIN.length, doc.indexOf(END));
  expect(between.trim()).toEqual(renderStatusTable());
  // Every column of every kind is in it, and says what it means.
  for (const k of KINDS)
    for (const c of k.printerColumns)
      expect({
        kind: k.kind,
        column: c.name,
        row: between.includes(`| ${k.kind} | \`${c.name.toUpperCase()}\``),
        described: c.description.length > 10,
      }).toEqual({ kind: k.kind, column: c.name, row: true, described: true });
});
