// Renders the registry of condition types and reasons (reasons.ts) as the Markdown tables of
// docs/observability.md, between marker comments. `make generate` writes them; a unit test fails
// when the committed document drifts from the registry.

import { CONDITION_TYPES, REASONS, type ReasonInfo } from './reasons.js';

export const BEGIN = '<!-- reasons:begin (generated from src/api/reasons.ts by `make generate`; do not edit) -->';
export const END = '<!-- reasons:end -->';

const KIND_WORDS: Record<ReasonInfo['kind'], string> = {
  permanent: 'permanent (Stalled)',
  transient: 'transient (Reconciling)',
  progress: 'in progress (Reconciling)',
  item: 'one message',
  state: 'state',
  event: 'Event only',
};

const cell = (s: string) => s.replace(/\|/g, '\\|');

/** The two tables: condition types, then every reason. */
export function renderReasonTables(): string {
  const lines = ['| condition type | meaning |', '|---|---|'];
  for (const [type, meaning] of Object.entries(CONDITION_TYPES)) lines.push(`| \`${type}\` | ${cell(meaning)} |`);
  lines.push('', '| reason | kind | directions | severity | meaning and what to do |', '|---|---|---|---|---|');
  for (const [reason, info] of Object.entries(REASONS) as [string, ReasonInfo][]) {
    const kind = KIND_WORDS[info.kind] + (info.item && info.kind !== 'item' ? '; also one message' : '');
    lines.push(`| \`${reason}\` | ${kind} | ${info.directions.join(', ') || '–'} | ${info.severity} | ${cell(info.hint)} |`);
  }
  return lines.join('\n');
}

/** The document with the text between the markers replaced by the rendered tables. */
export function withReasonTables(markdown: string): string {
  const start = markdown.indexOf(BEGIN);
  const end = markdown.indexOf(END);
  if (start < 0 || end < start) throw new Error(`the reason tables' markers are missing: add "${BEGIN}" and "${END}" where the tables go`);
  return `${markdown.slice(0, start + BEGIN.length)}\n${renderReasonTables()}\n${markdown.slice(end)}`;
}
