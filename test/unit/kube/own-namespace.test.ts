import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { ownNamespace, serviceAccountNamespace } from '../../../src/kube/own-namespace.js';

let dir: string;
beforeAll(async () => (dir = await mkdtemp(path.join(os.tmpdir(), 'own-ns-'))));
afterAll(async () => rm(dir, { recursive: true, force: true }));

/** A kubeconfig whose server refuses connections, so the SelfSubjectReview step finds nothing. */
function unreachable(namespace?: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:1', skipTLSVerify: true }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u', ...(namespace ? { namespace } : {}) }],
    currentContext: 'x',
  });
  return kc;
}

test('service account user names give their namespace; other users none', () => {
  expect(serviceAccountNamespace('system:serviceaccount:mailsync-system:mailsync-operator')).toBe('mailsync-system');
  expect(serviceAccountNamespace('alice')).toBeUndefined();
  expect(serviceAccountNamespace('system:serviceaccount:only-ns')).toBeUndefined();
  expect(serviceAccountNamespace(undefined)).toBeUndefined();
});

test("in a pod, the service account's namespace file", async () => {
  const file = path.join(dir, 'namespace');
  await writeFile(file, 'mailsync-system\n');
  expect(await ownNamespace(unreachable('elsewhere'), { serviceAccountFile: file })).toEqual({ namespace: 'mailsync-system', from: file });
});

test("outside a pod and without an answer from the API server, the kubeconfig context's namespace, else default", async () => {
  const none = path.join(dir, 'missing');
  expect(await ownNamespace(unreachable('team-a'), { serviceAccountFile: none })).toEqual({
    namespace: 'team-a',
    from: 'kubeconfig context x',
  });
  expect(await ownNamespace(unreachable(), { serviceAccountFile: none })).toEqual({ namespace: 'default', from: 'default' });
});
