// What `docker build .` would send as its build context, computed without a container engine:
// .dockerignore evaluated with the rules of moby/patternmatcher (what the Docker CLI and BuildKit
// use), and a small Dockerfile reader for the instructions the tests check.

import { readdir } from 'node:fs/promises';
import path from 'node:path';

interface Pattern {
  text: string;
  exclusion: boolean;
  regex: RegExp;
}

/** Compiles one pattern as patternmatcher does: `**` spans directories, `*` and `?` do not. */
function compile(pattern: string): RegExp {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '*') {
      if (pattern[i + 1] === '*') {
        i++;
        if (pattern[i + 1] === '/') i++; // "**/" is "**"
        re += i + 1 >= pattern.length ? '.*' : '(.*/)?';
      } else {
        re += '[^/]*';
      }
    } else if (ch === '?') {
      re += '[^/]';
    } else if (ch === '\\' && i + 1 < pattern.length) {
      re += `\\${pattern[++i]}`;
    } else if (ch === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) throw new Error(`.dockerignore: unterminated [ in "${pattern}"`);
      re += `[${pattern.slice(i + 1, end).replace(/^!/, '^')}]`;
      i = end;
    } else {
      re += /[.+()|{}^$]/.test(ch) ? `\\${ch}` : ch;
    }
  }
  return new RegExp(`${re}$`);
}

export function parseDockerignore(text: string): Pattern[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const exclusion = l.startsWith('!');
      // Cleaned as Go's filepath.Clean does for these cases: no leading "/" or "./", no trailing "/".
      const text = path.posix
        .normalize(exclusion ? l.slice(1).trim() : l)
        .replace(/^\/+/, '')
        .replace(/\/+$/, '');
      return { text, exclusion, regex: compile(text) };
    });
}

/** True when the file (a slash-separated path relative to the context) is left out of the context. */
export function isIgnored(patterns: Pattern[], file: string): boolean {
  const parents = file
    .split('/')
    .slice(0, -1)
    .map((_, i, parts) => parts.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const p of patterns) {
    // A pattern that matches a parent directory applies to everything beneath it.
    if (p.regex.test(file) || parents.some((d) => p.regex.test(d))) ignored = !p.exclusion;
  }
  return ignored;
}

/** Could an exclusion (`!`) pattern bring back something beneath this ignored directory? */
function mayReinclude(patterns: Pattern[], dir: string): boolean {
  return patterns.some((p) => {
    if (!p.exclusion) return false;
    const literal = p.text.split('/');
    const stop = literal.findIndex((seg) => /[*?[\\]/.test(seg));
    const prefix = (stop < 0 ? literal : literal.slice(0, stop)).join('/');
    return stop === 0 || prefix.startsWith(`${dir}/`) || dir.startsWith(`${prefix}/`) || prefix === dir;
  });
}

/** Every file of the build context rooted at `root`, as sorted slash-separated relative paths. */
export async function buildContext(root: string, dockerignore: string): Promise<string[]> {
  const patterns = parseDockerignore(dockerignore);
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const e of await readdir(path.join(root, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (isIgnored(patterns, p) && !mayReinclude(patterns, p)) continue; // e.g. node_modules: not walked
        await walk(p);
      } else if (!isIgnored(patterns, p)) {
        out.push(p);
      }
    }
  };
  await walk('');
  return out.sort();
}

export interface DockerfileStage {
  name?: string;
  image: string;
  instructions: { op: string; args: string }[];
}

/** Stages and their instructions, with line continuations joined and ARG defaults substituted. */
export function parseDockerfile(text: string): DockerfileStage[] {
  const lines = text
    .replace(/\\\r?\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const args: Record<string, string> = {};
  const subst = (s: string) => s.replace(/\$\{(\w+)\}|\$(\w+)/g, (m, a, b) => args[a ?? b] ?? m);
  const stages: DockerfileStage[] = [];
  for (const line of lines) {
    const [, op, rest] = /^(\w+)\s+(.*)$/.exec(line) ?? [];
    if (!op) continue;
    const OP = op.toUpperCase();
    if (OP === 'ARG' && stages.length === 0) {
      const [k, v] = rest.split('=');
      if (v !== undefined) args[k.trim()] = v.trim();
    } else if (OP === 'FROM') {
      const [image, as, name] = subst(rest).split(/\s+/);
      stages.push({ image, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
    } else {
      stages[stages.length - 1]?.instructions.push({ op: OP, args: subst(rest) });
    }
  }
  return stages;
}
