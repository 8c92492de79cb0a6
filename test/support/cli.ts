// Running the built `mailsync` CLI and shell command lines as a user would, for tests that check
// exit codes and exactly what is printed.

import { execFile } from 'node:child_process';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { REPO_ROOT } from '../../dev/control-plane.js';

export const MAILSYNC_ENTRY = path.join(REPO_ROOT, 'dist', 'src', 'cli', 'mailsync.js');

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { cwd: opts.cwd, env: opts.env, timeout: opts.timeoutMs ?? 90_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** `node dist/src/cli/mailsync.js ARGS` with only PATH and HOME from this process (no stray KUBECONFIG). */
export function mailsync(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Ran> {
  return run(process.execPath, [MAILSYNC_ENTRY, ...args], { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env } });
}

/** A command line run by bash, as typed into a terminal. */
export function shell(command: string, opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<Ran> {
  return run('bash', ['-c', command], opts);
}

/** Writes `dir/mailsync`, the built CLI under this Node: what `make dev-cluster`'s alias gives a shell. */
export async function mailsyncCommand(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, 'mailsync');
  await writeFile(file, `#!/bin/sh\nexec "${process.execPath}" "${MAILSYNC_ENTRY}" "$@"\n`);
  await chmod(file, 0o755);
  return dir;
}
