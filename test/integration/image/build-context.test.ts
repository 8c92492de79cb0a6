// The container image, as far as it can be checked without a container engine: the Dockerfile's
// shape (Node 24 throughout, production dependencies only, non-root, no shell needed) and the
// build context that .dockerignore leaves (what the Dockerfile copies, and no secrets or junk).

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { REPO_ROOT } from '../../../dev/control-plane.js';
import { buildContext, isIgnored, parseDockerfile, parseDockerignore, type DockerfileStage } from './build-context.js';

let stages: DockerfileStage[];
let context: string[];
let dockerignore: string;

beforeAll(async () => {
  stages = parseDockerfile(await readFile(path.join(REPO_ROOT, 'Dockerfile'), 'utf8'));
  dockerignore = await readFile(path.join(REPO_ROOT, '.dockerignore'), 'utf8');
  context = await buildContext(REPO_ROOT, dockerignore);
});

const runtime = () => stages[stages.length - 1];
const nodeMajor = (image: string) =>
  /^(?:docker\.io\/(?:library\/)?)?node:(\d+)/.exec(image)?.[1] ?? /distroless\/nodejs(\d+)/.exec(image)?.[1];

test('every stage is based on Node.js 24', () => {
  expect(stages.length).toBeGreaterThanOrEqual(2);
  for (const s of stages) expect({ image: s.image, major: nodeMajor(s.image) }).toEqual({ image: s.image, major: '24' });
});

test('the runtime stage runs as a numeric non-root user, with the mailsync entry point and no shell', () => {
  const r = runtime();
  const users = r.instructions.filter((i) => i.op === 'USER').map((i) => i.args);
  expect(users.length).toBeGreaterThan(0);
  const uid = users[users.length - 1].split(':')[0];
  expect(uid).toMatch(/^\d+$/); // numeric: runAsNonRoot can be verified by the kubelet
  expect(Number(uid)).toBe(65532);
  const entrypoint = JSON.parse(r.instructions.find((i) => i.op === 'ENTRYPOINT')!.args) as string[];
  expect(entrypoint[0]).toMatch(/(^|\/)node$/);
  expect(entrypoint[1]).toMatch(/(^|\/)dist\/src\/cli\/mailsync\.js$/);
  expect(JSON.parse(r.instructions.find((i) => i.op === 'CMD')!.args)).toEqual(['operator']);
  // Exec form and no RUN: nothing in the final image needs /bin/sh (distroless has none).
  expect(r.instructions.filter((i) => i.op === 'RUN')).toEqual([]);
});

test('the runtime gets production dependencies only, from a stage that installed nothing else', () => {
  const r = runtime();
  const modules = r.instructions.find((i) => i.op === 'COPY' && /node_modules/.test(i.args))!;
  const from = /--from=(\S+)/.exec(modules.args)?.[1];
  const depsStage = stages.find((s) => s.name === from)!;
  expect(depsStage).toBeDefined();
  const installs = depsStage.instructions.filter((i) => i.op === 'RUN' && /\bnpm\b/.test(i.args));
  expect(installs).toHaveLength(1);
  expect(installs[0].args).toMatch(/npm ci\b.*--omit=dev/);
  // The compiled code comes from the build stage, and only dist/src (no tests, no dev tools).
  expect(r.instructions.some((i) => i.op === 'COPY' && /--from=build\s+\S*dist\/src\s/.test(`${i.args} `))).toBe(true);
  // package.json travels with the code: its "type": "module" decides how Node loads dist/.
  expect(r.instructions.some((i) => i.op === 'COPY' && !/--from/.test(i.args) && /\bpackage\.json\b/.test(i.args))).toBe(true);
});

test('the build context holds every source the Dockerfile copies from it', () => {
  const sources = stages
    .flatMap((s) => s.instructions.filter((i) => (i.op === 'COPY' || i.op === 'ADD') && !/--from=/.test(i.args)))
    .flatMap((i) =>
      i.args
        .split(/\s+/)
        .filter((a) => !a.startsWith('--'))
        .slice(0, -1),
    );
  expect(sources).toEqual(expect.arrayContaining(['package.json', 'package-lock.json', 'tsconfig.json', 'src']));
  for (const src of sources) {
    expect({ src, present: context.some((f) => f === src || f.startsWith(`${src}/`)) }).toEqual({ src, present: true });
  }
  // Everything under src/ that the compiler reads is there.
  expect(context).toContain('src/cli/mailsync.ts');
  expect(context).toContain('src/observability/metrics.ts');
});

test('no secrets, dependencies, build output or development files reach the build context', () => {
  for (const dir of ['node_modules', 'dist', '.git', '.dev-cluster', 'test', 'charts', 'dev', 'bench', 'docs', 'hack', '.tools', '.ci']) {
    expect({ dir, files: context.filter((f) => f.startsWith(`${dir}/`)) }).toEqual({ dir, files: [] });
  }
  const secretish = /(^|\/)(\.env(\..*)?|\.npmrc|kubeconfig[^/]*|id_(rsa|ed25519|ecdsa)[^/]*|[^/]*\.(key|pem|p12|pfx|crt|tsbuildinfo))$/;
  expect(context.filter((f) => secretish.test(f))).toEqual([]);
  expect(context.every((f) => ['package.json', 'package-lock.json', 'tsconfig.json'].includes(f) || f.startsWith('src/'))).toBe(true);
});

test('.dockerignore keeps key material out even inside the allowed paths', () => {
  const patterns = parseDockerignore(dockerignore);
  expect(isIgnored(patterns, 'src/net/tls.ts')).toBe(false);
  for (const f of [
    'src/fixtures/server.key',
    'src/a/b/tls.pem',
    'src/.env',
    'src/.env.local',
    '.npmrc',
    'src/kubeconfig.yaml',
    'node_modules/x/index.js',
    '.dev-cluster/pki/ca.key',
    'test/fixtures/x.yaml',
  ]) {
    expect({ f, ignored: isIgnored(patterns, f) }).toEqual({ f, ignored: true });
  }
});

test("the .dockerignore reader follows Docker's rules on the usual pattern forms", () => {
  const p = parseDockerignore('**/*.log\n/build\n!build/keep.txt\ndocs/*.md\n');
  expect(isIgnored(p, 'a.log')).toBe(true);
  expect(isIgnored(p, 'x/y/a.log')).toBe(true);
  expect(isIgnored(p, 'build/out.js')).toBe(true);
  expect(isIgnored(p, 'build/keep.txt')).toBe(false);
  expect(isIgnored(p, 'docs/a.md')).toBe(true);
  expect(isIgnored(p, 'docs/sub/a.md')).toBe(false); // * does not cross a /
  expect(isIgnored(p, 'src/main.ts')).toBe(false);
});
