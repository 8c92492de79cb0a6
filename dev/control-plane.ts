// A real Kubernetes control plane (etcd + kube-apiserver) on loopback, as controller-runtime's
// envtest runs it: for tests, `make dev-cluster` and `make run`. RBAC and admission are on, and a
// token file defines several identities so tests can check who may do what.

import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, spawnGuarded, waitFor, type Guarded } from './processes.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The identities in the token file. Tests and docs refer to them by these names. */
export const IDENTITIES = {
  admin: { user: 'admin', groups: ['system:masters'] },
  operator: {
    user: 'system:serviceaccount:mailsync-system:mailsync-operator',
    groups: ['system:serviceaccounts', 'system:serviceaccounts:mailsync-system'],
  },
  approver: { user: 'alice-approver', groups: ['mailsync-approvers'] },
  mailboxAdmin: { user: 'bob-mailbox-admin', groups: ['mailsync-mailbox-admins'] },
  credentialsAdmin: { user: 'dave-credentials-admin', groups: ['mailsync-credentials-admins'] },
  viewer: { user: 'carol-viewer', groups: ['mailsync-viewers'] },
  nobody: { user: 'eve-nobody', groups: [] as string[] },
} as const;
export type Identity = keyof typeof IDENTITIES;

export interface ControlPlaneInfo {
  dir: string;
  server: string;
  etcd: string;
  caFile: string;
  tokens: Record<Identity, string>;
  kubeconfigs: Record<Identity, string>;
}

/** Finds kube-apiserver and etcd: KUBEBUILDER_ASSETS if set, otherwise the cache (built if missing). */
export function resolveAssets(): string {
  const env = process.env.KUBEBUILDER_ASSETS;
  if (env && existsSync(path.join(env, 'kube-apiserver')) && existsSync(path.join(env, 'etcd'))) return env;
  return execFileSync(path.join(REPO_ROOT, 'hack', 'build-control-plane.sh'), {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
}

export function kubeconfigYaml(server: string, caData: string, token: string, user: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: mailsync-dev',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${caData}`,
    'users:',
    `- name: ${user}`,
    '  user:',
    `    token: ${token}`,
    'contexts:',
    `- name: ${user}@mailsync-dev`,
    '  context:',
    '    cluster: mailsync-dev',
    `    user: ${user}`,
    '    namespace: default',
    `current-context: ${user}@mailsync-dev`,
    '',
  ].join('\n');
}

export class ControlPlane {
  private etcd?: Guarded;
  private apiserver?: Guarded;
  private etcdPort = 0;
  private apiPort = 0;
  info!: ControlPlaneInfo;

  private constructor(
    readonly dir: string,
    private readonly assets: string,
    private readonly ownsDir: boolean,
    private readonly extraArgs: string[],
  ) {}

  /** Starts etcd and kube-apiserver in `dir` (a new temp dir when not given) and waits until ready. */
  static async start(opts: { dir?: string; apiserverArgs?: string[] } = {}): Promise<ControlPlane> {
    const assets = resolveAssets();
    const dir = opts.dir ?? (await mkdtemp(path.join(os.tmpdir(), 'mailsync-cp-')));
    await mkdir(dir, { recursive: true });
    const cp = new ControlPlane(dir, assets, !opts.dir, opts.apiserverArgs ?? []);
    try {
      await cp.prepare();
      await cp.startEtcd();
      await cp.startApiserver();
    } catch (err) {
      await cp.stop();
      throw err;
    }
    return cp;
  }

  private async prepare(): Promise<void> {
    this.etcdPort = await freePort();
    this.apiPort = await freePort();
    const tokens = {} as Record<Identity, string>;
    const lines: string[] = [];
    for (const [id, who] of Object.entries(IDENTITIES) as [Identity, (typeof IDENTITIES)[Identity]][]) {
      tokens[id] = randomBytes(24).toString('hex');
      lines.push(`${tokens[id]},${who.user},${who.user},"${[...who.groups, 'system:authenticated'].join(',')}"`);
    }
    await writeFile(path.join(this.dir, 'tokens.csv'), lines.join('\n') + '\n', { mode: 0o600 });
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await writeFile(path.join(this.dir, 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    await writeFile(path.join(this.dir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
    this.info = {
      dir: this.dir,
      server: `https://127.0.0.1:${this.apiPort}`,
      etcd: `http://127.0.0.1:${this.etcdPort}`,
      caFile: path.join(this.dir, 'certs', 'apiserver.crt'),
      tokens,
      kubeconfigs: {} as Record<Identity, string>,
    };
  }

  private async startEtcd(): Promise<void> {
    const peerPort = await freePort();
    const url = `http://127.0.0.1:${this.etcdPort}`;
    this.etcd = spawnGuarded(
      path.join(this.assets, 'etcd'),
      [
        `--data-dir=${path.join(this.dir, 'etcd')}`,
        `--listen-client-urls=${url}`,
        `--advertise-client-urls=${url}`,
        `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
        `--initial-cluster=default=http://127.0.0.1:${peerPort}`,
        '--unsafe-no-fsync=true',
        '--log-level=warn',
      ],
      { logFile: path.join(this.dir, 'etcd.log') },
    );
    await waitFor('etcd', async () => ((await fetch(`${url}/health`)).ok ? true : undefined), {
      failFast: () => (this.etcd!.child.exitCode !== null ? `etcd exited; see ${this.dir}/etcd.log` : undefined),
    });
  }

  private async startApiserver(): Promise<void> {
    const d = this.dir;
    this.apiserver = spawnGuarded(
      path.join(this.assets, 'kube-apiserver'),
      [
        `--etcd-servers=http://127.0.0.1:${this.etcdPort}`,
        `--cert-dir=${path.join(d, 'certs')}`,
        `--secure-port=${this.apiPort}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--token-auth-file=${path.join(d, 'tokens.csv')}`,
        '--authorization-mode=RBAC',
        `--service-account-issuer=https://kubernetes.default.svc`,
        `--service-account-key-file=${path.join(d, 'sa.pub')}`,
        `--service-account-signing-key-file=${path.join(d, 'sa.key')}`,
        '--service-cluster-ip-range=10.0.0.0/24',
        '--allow-privileged=true',
        '--disable-admission-plugins=ServiceAccount',
        '--endpoint-reconciler-type=none',
        '--v=1',
        ...this.extraArgs,
      ],
      { logFile: path.join(d, 'kube-apiserver.log') },
    );
    const ca = await waitFor(
      'kube-apiserver certificate',
      async () => (existsSync(this.info.caFile) ? await readFile(this.info.caFile) : undefined),
      { failFast: () => this.apiserverDied() },
    );
    await waitFor('kube-apiserver /readyz', async () => ((await this.get('/readyz', ca)) === 200 ? true : undefined), {
      timeoutMs: 90_000,
      intervalMs: 300,
      failFast: () => this.apiserverDied(),
    });
    const caData = ca.toString('base64');
    for (const id of Object.keys(IDENTITIES) as Identity[]) {
      const file = path.join(d, `kubeconfig-${id}`);
      await writeFile(file, kubeconfigYaml(this.info.server, caData, this.info.tokens[id], IDENTITIES[id].user), { mode: 0o600 });
      this.info.kubeconfigs[id] = file;
    }
    await writeFile(path.join(d, 'info.json'), JSON.stringify(this.info, null, 2));
  }

  private apiserverDied(): string | undefined {
    return this.apiserver!.child.exitCode !== null ? `kube-apiserver exited; see ${this.dir}/kube-apiserver.log` : undefined;
  }

  private get(p: string, ca: Buffer): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = https.get(
        {
          host: '127.0.0.1',
          port: this.apiPort,
          path: p,
          ca,
          headers: { authorization: `Bearer ${this.info.tokens.admin}` },
          timeout: 5000,
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.on('timeout', () => req.destroy(new Error('timeout')));
    });
  }

  /** Compacts etcd's history up to now, so any older resourceVersion is gone (HTTP 410). */
  async compactEtcd(): Promise<void> {
    await compactEtcd(this.info.etcd);
  }

  /** Stops only the API server (etcd keeps the data), to simulate an outage. */
  async stopApiserver(): Promise<void> {
    await this.apiserver?.stop();
  }

  /** Starts the API server again on the same port with the same identities. */
  async restartApiserver(): Promise<void> {
    await this.apiserver?.stop();
    await this.startApiserver();
  }

  async stop(): Promise<void> {
    await this.apiserver?.stop();
    await this.etcd?.stop();
    if (this.ownsDir) await rm(this.dir, { recursive: true, force: true });
  }
}

export async function compactEtcd(etcdUrl: string): Promise<void> {
  const range = (await (
    await fetch(`${etcdUrl}/v3/kv/range`, { method: 'POST', body: JSON.stringify({ key: Buffer.from('/').toString('base64') }) })
  ).json()) as {
    header: { revision: string };
  };
  const res = await fetch(`${etcdUrl}/v3/kv/compaction`, {
    method: 'POST',
    body: JSON.stringify({ revision: range.header.revision, physical: true }),
  });
  if (!res.ok) throw new Error(`etcd compaction failed: ${res.status} ${await res.text()}`);
}
