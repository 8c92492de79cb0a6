// The Dockerfile's three stages, replayed without a container engine: compile the build context
// alone (build), install the production dependencies from the lock file into an empty directory
// (deps, from the npm registry), then run the entry point from that directory with nothing else
// (runtime). If the operator imported a dev dependency, or a file outside src/, at run time, it
// would fail here as it would in the image.

import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../../../dev/control-plane.js';
import { freePorts } from '../../support/free-port.js';
import { controlPlaneInfo, clientsAs, newNamespace } from '../../support/kube.js';
import { buildContext } from './build-context.js';

const run = promisify(execFile);
const NODE = process.execPath;
// npm from the same Node installation as the test runner.
const NPM = existsSync(path.join(path.dirname(NODE), 'npm')) ? path.join(path.dirname(NODE), 'npm') : 'npm';

let work: string;
let app: string; // the runtime stage's /app

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'mailsync-image-'));
  app = path.join(work, 'app');
  await mkdir(app);
});
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

test('build stage: the build context alone compiles to dist/src', async () => {
  const build = path.join(work, 'build');
  const files = await buildContext(REPO_ROOT, await readFile(path.join(REPO_ROOT, '.dockerignore'), 'utf8'));
  for (const f of files) await cp(path.join(REPO_ROOT, f), path.join(build, f));
  // The build stage runs `npm ci` with dev dependencies; the repository's tree is that install.
  await symlink(path.join(REPO_ROOT, 'node_modules'), path.join(build, 'node_modules'), 'dir');
  await run(NODE, [path.join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: build, timeout: 120_000 });
  expect(existsSync(path.join(build, 'dist/src/cli/mailsync.js'))).toBe(true);
  await cp(path.join(build, 'dist/src'), path.join(app, 'dist/src'), { recursive: true });
}, 150_000);

interface Lock {
  packages: Record<string, { dev?: boolean; dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> }>;
}

/**
 * `npm ci` checks the whole lock file, dev part included, against the registry. The registry this
 * machine reaches lacks some other-platform builds that a dev dependency lists as optional
 * (e.g. unrs-resolver's darwin/win32 bindings), so `npm ci --omit=dev` stops with "Missing: ...
 * from lock file" here although it works against the public registry. True when every missing
 * package is wanted only by dev-only entries, i.e. the production install is not concerned.
 */
function onlyDevPackagesMissing(stderr: string, lock: Lock): boolean {
  const missing = [...stderr.matchAll(/Missing: (@?[^@\s]+)@/g)].map((m) => m[1]);
  if (!missing.length) return false;
  return missing.every((name) => {
    const wanting = Object.values(lock.packages).filter(
      (e) => e.dependencies?.[name] !== undefined || e.optionalDependencies?.[name] !== undefined,
    );
    return wanting.length > 0 && wanting.every((e) => e.dev === true);
  });
}

test('deps stage: a clean `npm ci --omit=dev` installs the production dependencies and no dev tool', async () => {
  await cp(path.join(REPO_ROOT, 'package.json'), path.join(app, 'package.json'));
  await cp(path.join(REPO_ROOT, 'package-lock.json'), path.join(app, 'package-lock.json'));
  const npmCi = (args: string[]) =>
    run(NPM, ['ci', ...args, '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], {
      cwd: app,
      timeout: 240_000,
      env: { ...process.env, npm_config_update_notifier: 'false' },
    });
  const pkg = JSON.parse(await readFile(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
  };
  const lock = JSON.parse(await readFile(path.join(REPO_ROOT, 'package-lock.json'), 'utf8')) as Lock & {
    packages: Record<string, { devDependencies?: unknown }>;
  };
  try {
    await npmCi(['--omit=dev']); // exactly the Dockerfile's deps stage
  } catch (err) {
    const stderr = String((err as { stderr?: string }).stderr ?? err);
    if (!onlyDevPackagesMissing(stderr, lock)) throw err;
    // Same production tree, from the production entries of the same lock file: what
    // `--omit=dev` would install, without the dev part that cannot be checked here.
    process.stderr.write(
      'production-install: the registry lacks optional builds of dev dependencies; installing from the production part of package-lock.json\n',
    );
    const prodLock = structuredClone(lock);
    prodLock.packages = Object.fromEntries(Object.entries(lock.packages).filter(([, e]) => e.dev !== true));
    delete prodLock.packages[''].devDependencies;
    const prodPkg = { ...pkg, devDependencies: undefined };
    await writeFile(path.join(app, 'package.json'), `${JSON.stringify(prodPkg, null, 2)}\n`);
    await writeFile(path.join(app, 'package-lock.json'), `${JSON.stringify(prodLock, null, 2)}\n`);
    await npmCi([]);
  }
  for (const dep of Object.keys(pkg.dependencies))
    expect({ dep, installed: existsSync(path.join(app, 'node_modules', dep, 'package.json')) }).toEqual({ dep, installed: true });
  // Dev tools are absent (a dev dependency that a production package also needs, such as
  // @types/js-yaml for @kubernetes/client-node, is not dev-only in the lock and may stay).
  const devOnly = Object.keys(pkg.devDependencies).filter((dep) => lock.packages[`node_modules/${dep}`]?.dev === true);
  expect(devOnly).toEqual(expect.arrayContaining(['jest', 'typescript', 'json-schema-to-typescript', 'smtp-server']));
  for (const dep of devOnly) expect({ dep, installed: existsSync(path.join(app, 'node_modules', dep)) }).toEqual({ dep, installed: false });
  const installed = Object.keys(lock.packages).filter((k) => k.startsWith('node_modules/') && existsSync(path.join(app, k)));
  expect(installed.filter((k) => lock.packages[k].dev === true)).toEqual([]);
  // The EWS NTLM implementation is loaded by name at run time; it must come with ews-javascript-api.
  expect(existsSync(path.join(app, 'node_modules/@ewsjs/ntlm-client/package.json'))).toBe(true);
}, 300_000);

test('runtime: `mailsync --help` prints the usage and exits 0', async () => {
  const { stdout } = await run(NODE, ['dist/src/cli/mailsync.js', '--help'], {
    cwd: app,
    env: { PATH: process.env.PATH },
    timeout: 30_000,
  });
  expect(stdout).toMatch(/^Usage: mailsync <command>/);
  expect(stdout).toContain('operator');
});

test('runtime: `mailsync operator` starts its controllers against the API server', async () => {
  const admin = clientsAs('admin');
  const ns = await newNamespace(admin, 'image');
  const { stdout: usage } = await run(NODE, ['dist/src/cli/mailsync.js', 'operator', '--help'], { cwd: app, timeout: 30_000 });
  // Once the entry point serves metrics and probes (--metrics-addr), check them too.
  const [port] = await freePorts(1);
  const metricsArgs = usage.includes('--metrics-addr') ? [`--metrics-addr=127.0.0.1:${port}`] : [];
  const child = spawn(
    NODE,
    [
      'dist/src/cli/mailsync.js',
      'operator',
      '--kubeconfig',
      controlPlaneInfo().kubeconfigs.admin,
      '--leader-elect=false',
      '--namespace',
      ns,
      ...metricsArgs,
    ],
    {
      cwd: app,
      // Only what a container gets: no NODE_PATH or npm variables that could find the repository's modules.
      env: { PATH: process.env.PATH, LOG_LEVEL: 'info', NODE_ENV: 'production' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const deadline = Date.now() + 30_000;
    while (!out.includes('"controllers started"')) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`no "controllers started" log line; output:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    // Every line is JSON (pino), as log collectors expect.
    const lines = out.trim().split('\n');
    for (const l of lines) expect(() => JSON.parse(l)).not.toThrow();
    expect(lines.map((l) => JSON.parse(l) as { msg: string }).find((l) => l.msg === 'controllers started')).toMatchObject({
      level: 'info',
      namespace: ns,
    });
    if (metricsArgs.length) {
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect(ready.status).toBe(200);
      expect(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()).toContain('# TYPE mailsync_reconcile_total counter');
    }
  } finally {
    child.kill('SIGTERM');
  }
  expect(await exited).toBe(0); // SIGTERM is a clean shutdown
}, 60_000);
