// README.md and docs/ name `mailsync` flags in examples and prose; each must be a flag of that
// command's table (src/cli/*-flags.ts), so the docs cannot drift from the one place flags are
// written. Defaults quoted in the docs are checked where they are stated.

import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../../dev/control-plane.js';
import { APPROVE_FLAGS } from '../../../src/cli/approve-flags.js';
import { FAILURES_FLAGS } from '../../../src/cli/failures-flags.js';
import { OPERATOR_FLAGS } from '../../../src/cli/operator-flags.js';

const TABLES: Record<string, object> = { operator: OPERATOR_FLAGS, approve: APPROVE_FLAGS, deny: APPROVE_FLAGS, failures: FAILURES_FLAGS };
const docs = [
  'README.md',
  ...readdirSync(path.join(REPO_ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

test('every flag given to a mailsync command in README.md and docs/ is in its flag table', () => {
  const unknown: string[] = [];
  let seen = 0;
  for (const doc of docs) {
    for (const line of readFileSync(path.join(REPO_ROOT, doc), 'utf8').split('\n')) {
      // A command line: `mailsync <command> ...` up to the end of the code span or a comment.
      for (const m of line.matchAll(/\bmailsync (operator|approve|deny|failures)\b([^`#|]*)/g)) {
        for (const f of m[2].matchAll(/(?:^|\s)--([a-z][a-z-]*)/g)) {
          seen++;
          if (!(f[1] in TABLES[m[1]])) unknown.push(`${doc}: mailsync ${m[1]} --${f[1]}`);
        }
      }
    }
  }
  expect(unknown).toEqual([]);
  expect(seen).toBeGreaterThan(0);
});

test("the defaults the docs state are the table's", () => {
  const observability = readFileSync(path.join(REPO_ROOT, 'docs/observability.md'), 'utf8');
  expect(observability).toContain(`\`--metrics-addr\` (default \`${OPERATOR_FLAGS['metrics-addr'].default}\``);
});
