// The rules of the Argo CD health script, one by one, on hand-made objects. The same script is
// checked against objects the operator really wrote in argocd-health.test.ts.

import { readFile, writeFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import yaml from 'js-yaml';
import { REPO_ROOT } from '../../../dev/control-plane.js';
import { argoHealth, HEALTH_SCRIPT, toLua } from './argocd-health.js';

const cond = (type: string, status: string, reason: string, message = `${type} ${reason}`, observedGeneration = 3) => ({
  type,
  status,
  reason,
  message,
  observedGeneration,
  lastTransitionTime: '2026-01-01T00:00:00Z',
});
const mailbox = (
  conditions: object[],
  extra: { generation?: number; observedGeneration?: number; suspended?: boolean; deleting?: boolean } = {},
) => ({
  apiVersion: 'mailsync.dev/v1alpha1',
  kind: 'Mailbox',
  metadata: {
    name: 'ann',
    namespace: 'sales',
    generation: extra.generation ?? 3,
    ...(extra.deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}),
  },
  spec: { emailAddress: 'ann@example.com', suspended: extra.suspended },
  status: { observedGeneration: extra.observedGeneration ?? 3, conditions },
});

test.each([
  ['Healthy', 'Ready', mailbox([cond('Ready', 'True', 'Ready', 'processing incoming, outgoing')])],
  ['Progressing', 'no status yet', { kind: 'Mailbox', metadata: { name: 'x', generation: 1 }, spec: {} }],
  ['Progressing', 'a newer generation not yet observed', mailbox([cond('Ready', 'True', 'Ready')], { generation: 4 })],
  ['Progressing', 'Ready written for an older generation', mailbox([cond('Ready', 'True', 'Ready', 'm', 2)])],
  ['Progressing', 'being deleted', mailbox([cond('Ready', 'True', 'Ready')], { deleting: true })],
  [
    'Suspended',
    'spec.suspended',
    mailbox([cond('Ready', 'False', 'Suspended'), cond('Enabled', 'False', 'Suspended')], { suspended: true }),
  ],
  [
    'Degraded',
    'Stalled',
    mailbox([cond('Ready', 'False', 'AuthenticationFailed'), cond('Stalled', 'True', 'AuthenticationFailed', 'login rejected')]),
  ],
  ['Progressing', 'Reconciling', mailbox([cond('Ready', 'False', 'ServerUnreachable'), cond('Reconciling', 'True', 'RetryingTest')])],
  ['Progressing', 'AwaitingApproval', mailbox([cond('Ready', 'False', 'AwaitingApproval'), cond('Enabled', 'False', 'AwaitingApproval')])],
  ['Degraded', 'Denied', mailbox([cond('Ready', 'False', 'Denied'), cond('Enabled', 'False', 'Denied')])],
  [
    'Degraded',
    'Ready=False for another reason (a profile whose Secret is missing)',
    { ...mailbox([cond('Ready', 'False', 'SecretNotFound')]), kind: 'EmailServerProfile' },
  ],
  ['Progressing', 'Ready=Unknown', mailbox([cond('Ready', 'Unknown', 'Pending')])],
  ['Progressing', 'no Ready condition', mailbox([])],
  // spec.suspended means something only on a Mailbox.
  [
    'Healthy',
    'another kind with a suspended field',
    { ...mailbox([cond('Ready', 'True', 'Valid')], { suspended: true }), kind: 'Deployment' },
  ],
])('%s: %s', async (status, _what, obj) => {
  expect((await argoHealth(obj)).status).toBe(status);
});

test('messages carry the reason and the message of the deciding condition', async () => {
  expect(await argoHealth(mailbox([cond('Stalled', 'True', 'AuthenticationFailed', 'IMAP login as ann rejected')]))).toEqual({
    status: 'Degraded',
    message: 'AuthenticationFailed: IMAP login as ann rejected',
  });
  expect((await argoHealth(mailbox([cond('Ready', 'True', 'Ready', 'x')], { generation: 4 }))).message).toBe(
    'waiting for the operator to observe generation 4',
  );
});

test('objects with quotes, backslashes, newlines and non-ASCII text reach Lua intact', async () => {
  const message = 'l\u00f6gin "ann" \\ failed\nsecond line\u0001 7';
  expect(await argoHealth(mailbox([cond('Ready', 'False', 'AuthenticationFailed', message)]))).toEqual({
    status: 'Degraded',
    message: `AuthenticationFailed: ${message}`,
  });
  expect(toLua({ a: [1, 'x', { b: true }], n: null })).toBe('{["a"]={1,"x",{["b"]=true}}}');
});

test("the sandbox is Argo CD's: a script that uses the string library fails here as it would there", async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lua-'));
  try {
    const script = path.join(dir, 'bad.lua');
    await writeFile(script, 'local hs = {}\nhs.status = "Healthy"\nhs.message = ("x"):upper()\nreturn hs\n');
    await expect(argoHealth({}, script)).rejects.toThrow(/error:/);
    await writeFile(script, 'local hs = {}\nhs.status = "Healthy"\nhs.message = string.format("%d", 1)\nreturn hs\n');
    await expect(argoHealth({}, script)).rejects.toThrow(/error:/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the argocd-cm patch in docs/argocd carries the same script for all three kinds', async () => {
  const script = await readFile(HEALTH_SCRIPT, 'utf8');
  const cm = yaml.load(await readFile(path.join(REPO_ROOT, 'docs/argocd/argocd-cm-health.yaml'), 'utf8')) as {
    data: Record<string, string>;
  };
  for (const kind of ['Mailbox', 'EmailServerProfile', 'Deployment']) {
    expect(cm.data[`resource.customizations.health.mailsync.dev_${kind}`]).toBe(script);
  }
});
