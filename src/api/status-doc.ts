// Renders what `kubectl get` shows and what every condition means, for the three kinds, as one
// Markdown table in docs/status.md: the printer columns come from src/api/schema.ts (each carries
// its description), the conditions from the registry (src/api/reasons.ts). `make generate` writes
// it; a unit test fails when the committed document drifts.

import { CONDITION_TYPES, type ConditionType } from './reasons.js';
import { KINDS } from './schema.js';

export const BEGIN =
  '<!-- status-table:begin (generated from src/api/schema.ts and src/api/reasons.ts by `make generate`; do not edit) -->';
export const END = '<!-- status-table:end -->';

const cell = (s: string) => s.replace(/\|/g, '\\|');

/** The kinds a condition type applies to, from its description's prefix ("Mailbox: ...", "Every kind: ..."). */
function kindsOf(type: ConditionType): string[] {
  const text = CONDITION_TYPES[type];
  if (text.startsWith('Every kind:')) return KINDS.map((k) => k.kind);
  return KINDS.map((k) => k.kind).filter((k) => text.startsWith(`${k}:`));
}

/** The condition type a printer column reads, if any. */
const conditionOf = (jsonPath: string): string | undefined => /\[\?\(@\.type=="(\w+)"\)\]/.exec(jsonPath)?.[1];

/** One table: for each kind, its printer columns (default, then `-o wide`), then its conditions that no column shows. */
export function renderStatusTable(): string {
  const lines = ['| kind | column or condition | shown by | what it means |', '|---|---|---|---|'];
  for (const k of KINDS) {
    const shown = new Set<string>();
    for (const c of [...k.printerColumns.filter((c) => !c.priority), ...k.printerColumns.filter((c) => c.priority)]) {
      const condition = conditionOf(c.jsonPath);
      if (condition) shown.add(condition);
      const source = condition
        ? ` (condition \`${condition}\`${c.jsonPath.endsWith('.status') ? '' : `, ${c.jsonPath.slice(c.jsonPath.lastIndexOf('.') + 1)}`})`
        : '';
      lines.push(
        `| ${k.kind} | \`${c.name.toUpperCase()}\`${source} | ${c.priority ? '`kubectl get -o wide`' : '`kubectl get`'} | ${cell(c.description)} |`,
      );
    }
    for (const type of Object.keys(CONDITION_TYPES) as ConditionType[]) {
      if (shown.has(type) || !kindsOf(type).includes(k.kind)) continue;
      const meaning = CONDITION_TYPES[type].replace(/^[\w ]+: /, '');
      lines.push(`| ${k.kind} | condition \`${type}\` | \`kubectl get -o yaml\`, \`kubectl describe\` | ${cell(meaning)} |`);
    }
  }
  return lines.join('\n');
}

/** The document with the text between the markers replaced by the rendered table. */
export function withStatusTable(markdown: string): string {
  const start = markdown.indexOf(BEGIN);
  const end = markdown.indexOf(END);
  if (start < 0 || end < start) throw new Error(`the status table's markers are missing: add "${BEGIN}" and "${END}" where the table goes`);
  return `${markdown.slice(0, start + BEGIN.length)}\n${renderStatusTable()}\n${markdown.slice(end)}`;
}
