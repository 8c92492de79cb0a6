// The reason registry is complete: every reason the code can produce is in it, and the docs table
// is what it renders. A reason added without an entry fails here, not in a user's alert rules.

import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { REPO_ROOT } from '../../../dev/control-plane.js';
import { isFailureReason, isPermanentReason, isTransientReason, REASONS, reasonInfo } from '../../../src/api/reasons.js';
import { BEGIN, END, renderReasonTables } from '../../../src/api/reasons-doc.js';
import { RULES } from '../../../src/mail/errors.js';

/** Files whose reason-like literals are not condition or Event reasons (CEL field errors) or that define the registry. */
const NOT_REASONS = new Set(['src/api/schema.ts', 'src/api/schema-builders.ts', 'src/api/types.generated.ts', 'src/api/reasons.ts']);

/** Where a reason is written as a literal in our code. */
const PATTERNS = [
  /\breason:\s*'(\w+)'/g, // { reason: 'X' }
  /'(?:Warning|Normal)',\s*'(\w+)'/g, // events.record(obj, 'Warning', 'X', ...)
  /'(?:True|False|Unknown)',\s*'(\w+)'/g, // set(type, 'False', 'X', ...), ['True', 'X']
  /\breason\b[^;\n]*?\?\s*'([A-Z]\w+)'/g, // reason: cond ? 'X' : ...
  /\b(?:blocker|paused):\s*'(\w+)'/g, // the profile's phase table
  /this\.(?:fail|reject)\([^,]+,\s*'(\w+)'/g, // per-item failures
];

async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(path.join(REPO_ROOT, dir), { withFileTypes: true })) {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) out.push(...(await sources(rel)));
    else if (e.name.endsWith('.ts') && !NOT_REASONS.has(rel)) out.push(rel);
  }
  return out;
}

/** The members of a string union type `name` in a file. */
async function unionMembers(file: string, name: string): Promise<string[]> {
  const text = await readFile(path.join(REPO_ROOT, file), 'utf8');
  const decl = new RegExp(`export type ${name} =([^;]+);`).exec(text);
  if (!decl) throw new Error(`type ${name} not found in ${file}`);
  return [...decl[1].replace(/\/\*\*[\s\S]*?\*\//g, '').matchAll(/'(\w+)'/g)].map((m) => m[1]);
}

test('every reason the code writes is in the registry', async () => {
  const missing: string[] = [];
  let seen = 0;
  for (const file of await sources('src')) {
    const lines = (await readFile(path.join(REPO_ROOT, file), 'utf8')).split('\n');
    lines.forEach((line, i) => {
      for (const pattern of PATTERNS) {
        for (const [, reason] of line.matchAll(pattern)) {
          seen++;
          if (!reasonInfo(reason)) missing.push(`${reason} (${file}:${i + 1})`);
        }
      }
    });
  }
  expect(seen).toBeGreaterThan(50); // the patterns still find the reasons
  expect(missing).toEqual([]);
});

test('every failure reason of the mail adapters, the CRM connectors and the classification rules is registered', async () => {
  const declared = [
    ...(await unionMembers('src/mail/types.ts', 'FailureReason')),
    ...(await unionMembers('src/crm/types.ts', 'CrmFailureReason')),
  ];
  expect(declared.length).toBeGreaterThan(12);
  expect(declared.filter((r) => !reasonInfo(r))).toEqual([]);
  expect(RULES.map((r) => r.reason).filter((r) => !reasonInfo(r))).toEqual([]);
  // Failure reasons are failures, and a rule's reason says the same as the registry.
  for (const r of declared) expect(['permanent', 'transient', 'item']).toContain(reasonInfo(r)!.kind);
});

test('the registry decides retried or waiting: ProtocolError is retried, a spent budget waits for a person', () => {
  expect(isTransientReason('ProtocolError')).toBe(true);
  expect(isPermanentReason('ProtocolError')).toBe(false);
  expect(isPermanentReason('TooManyTransientFailures')).toBe(true);
  expect(isPermanentReason('AuthenticationFailed')).toBe(true);
  expect(isFailureReason('RolloutInProgress')).toBe(false);
  // A reason the registry does not know is treated as one that waits for a person.
  expect(isPermanentReason('SomethingNew')).toBe(true);
  // Only reasons that name a real problem get a hint that says what to do.
  for (const [reason, info] of Object.entries(REASONS)) expect({ reason, hint: info.hint.length > 10 }).toEqual({ reason, hint: true });
});

test('docs/observability.md carries the tables the registry renders (run `make generate`)', async () => {
  const doc = await readFile(path.join(REPO_ROOT, 'docs/observability.md'), 'utf8');
  const between = doc.slice(doc.indexOf(BEGIN) + BEGIN.length, doc.indexOf(END));
  expect(between.trim()).toEqual(renderReasonTables());
  for (const reason of Object.keys(REASONS)) expect(between).toContain(`| \`${reason}\` |`);
});
