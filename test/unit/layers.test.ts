// The import rules of src/, enforced by scanning every import: each folder may import only from
// the folders listed for it, so dependencies point inward and layers stay apart. In particular:
// protocol adapters (mail/) and CRM connectors (crm/) know nothing of Kubernetes or of each other,
// reconcilers (controllers/) know nothing of IMAP or CRMs, and sync workers (sync/) share domain
// types and ports with the controller through domain/, never by importing controllers/.
// A new folder under src/ needs a row here.

import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../dev/control-plane.js';

const SRC = path.join(REPO_ROOT, 'src');

/** Folder -> the folders its modules may import (besides itself and packages). */
const ALLOWED: Record<string, readonly string[]> = {
  util: [],
  net: ['util'],
  log: ['util'],
  kube: ['log', 'util'],
  api: ['kube', 'util'],
  domain: ['api', 'kube', 'util'],
  mail: ['api', 'net', 'util'],
  crm: ['api', 'net', 'util'],
  // Appointments, contacts and tasks: the engine between the Exchange adapters it owns (act/exchange,
  // over mail/'s EWS and Graph transports) and the CRM connectors' ACT port; no API objects.
  act: ['api', 'crm', 'mail', 'net', 'util'],
  sync: ['api', 'crm', 'domain', 'kube', 'log', 'mail', 'net', 'util'],
  controllers: ['api', 'domain', 'kube', 'log', 'util'],
  // connect/ is where adapters meet the operator: it builds testers and sync parts (ACT's from act/), and its CRM
  // bridges (the coexistence gate's Events, the Dataverse status mirror) read and write Kubernetes.
  connect: ['act', 'api', 'crm', 'domain', 'kube', 'log', 'mail', 'net', 'sync', 'util'],
  observability: ['api', 'domain', 'kube', 'log', 'sync', 'util'],
  // The importer reads Dataverse through the CRM client (and its token source) and writes manifests.
  migrate: ['api', 'crm', 'kube', 'mail', 'net', 'util'],
  cli: ['api', 'connect', 'controllers', 'crm', 'domain', 'kube', 'log', 'mail', 'migrate', 'net', 'observability', 'sync', 'util'],
};

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
  );
}

/** Every relative module a file imports or re-exports, statically or with import(). */
function importsOf(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(
    /(?:^|\n)\s*(?:import|export)\b[^'"`;]*?from\s*'(\.[^']+)'|(?:^|\n)\s*import\s*'(\.[^']+)'|\bimport\(\s*'(\.[^']+)'\s*\)/g,
  ))
    out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}

const folderOf = (file: string): string => path.relative(SRC, file).split(path.sep)[0];

test('the scanner sees static, side-effect, re-export and dynamic imports', () => {
  const text =
    "import a from './a.js';\nimport type { B } from '../b/b.js';\nexport { c } from '../c/c.js';\nimport '../d/d.js';\nconst e = await import('../e/e.js');\nimport {\n  f,\n  g,\n} from '../f/f.js';";
  expect(importsOf(text)).toEqual(['./a.js', '../b/b.js', '../c/c.js', '../d/d.js', '../e/e.js', '../f/f.js']);
});

test('every folder of src/ has its row of allowed imports', () => {
  const folders = readdirSync(SRC, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name);
  expect(folders.filter((f) => !(f in ALLOWED))).toEqual([]);
});

test('imports follow the layers: sync/ never imports controllers/, crm/ never imports mail/, ...', () => {
  const violations: string[] = [];
  for (const file of filesUnder(SRC)) {
    const from = folderOf(file);
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      const to = folderOf(path.resolve(path.dirname(file), spec));
      if (to !== from && !ALLOWED[from]?.includes(to))
        violations.push(
          `${path.relative(REPO_ROOT, file)} imports ${spec} (${from}/ may import ${ALLOWED[from]?.join(', ') || 'nothing of src/'})`,
        );
    }
  }
  expect(violations).toEqual([]);
});
