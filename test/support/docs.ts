// Reading runnable examples out of the documentation, so tests run what the docs say, as written.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../dev/control-plane.js';

export const readDoc = (file: string): string => readFileSync(path.join(REPO_ROOT, file), 'utf8');

/** The `## heading` section of a markdown text, up to the next `## ` heading. */
export function section(markdown: string, heading: string): string {
  const found = markdown.split(/^(?=## )/m).find((s) => s.startsWith(`## ${heading}\n`));
  if (!found) throw new Error(`no section "## ${heading}"`);
  return found;
}

/** The bodies of the fenced code blocks with this info string (```console, ```sh), in order. */
export function fencedBlocks(text: string, info: string): string[] {
  return [...text.matchAll(new RegExp('^```' + info + '\\n([\\s\\S]*?)^```', 'gm'))].map((m) => m[1]);
}

export interface ConsoleStep {
  command: string;
  /** What the command prints (stdout and stderr), without the final newline. */
  expected: string;
}

/** A console transcript: `$ command` lines, each followed by its output. */
export function consoleSteps(blocks: string[]): ConsoleStep[] {
  const steps: ConsoleStep[] = [];
  for (const line of blocks.join('').split('\n')) {
    if (line.startsWith('$ ')) steps.push({ command: line.slice(2), expected: '' });
    else if (line !== '' || steps.at(-1)?.expected) {
      const step = steps.at(-1);
      if (!step) throw new Error(`output before any command: ${line}`);
      step.expected = step.expected ? `${step.expected}\n${line}` : line;
    }
  }
  for (const s of steps) s.expected = s.expected.replace(/\n+$/, '');
  return steps;
}

/** The commands of a shell block: continuation lines joined, comments and blank lines dropped. */
export function shellCommands(block: string): string[] {
  return block
    .replace(/\\\n\s*/g, '')
    .split('\n')
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter((l) => l && !l.startsWith('#'));
}
