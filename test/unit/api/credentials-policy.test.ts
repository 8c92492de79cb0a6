// The credentials admission policy lists, field by field, what decides where a credential is sent
// (crds/mailsync.dev_credentials-admission.yaml). A field added to the API later must be put on
// one side or the other, or a change to it would redirect credentials without the check.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import { REPO_ROOT } from '../../../dev/control-plane.js';
import { deploymentSpec, emailServerProfileSpec, mailboxSpec } from '../../../src/api/schema.js';
import type { Schema } from '../../../src/api/schema-builders.js';

type Policy = { kind: string; spec: { matchConstraints: { resourceRules: { resources: string[] }[] } } };

const docs = yaml.loadAll(readFileSync(path.join(REPO_ROOT, 'crds', 'mailsync.dev_credentials-admission.yaml'), 'utf8')) as Policy[];
const policyFor = (resource: string): Policy => {
  const p = docs.filter(
    (d) => d.kind === 'ValidatingAdmissionPolicy' && d.spec.matchConstraints.resourceRules.some((r) => r.resources.includes(resource)),
  );
  expect(p).toHaveLength(1);
  return p[0];
};

/** Paths the policy compares between object and oldObject, cut to what exists in the schema (`spec.emailAddress.split` is `spec.emailAddress`). */
function compared(policy: Policy, spec: Schema): Set<string> {
  const out = new Set<string>();
  for (const [, tail] of JSON.stringify(policy).matchAll(/oldObject\.spec((?:\.\??[A-Za-z]+)+)/g)) {
    let s: Schema | undefined = spec;
    const kept = ['spec'];
    for (const seg of tail.replace(/\?/g, '').split('.').filter(Boolean)) {
      s = s?.properties?.[seg];
      if (!s) break;
      kept.push(seg);
    }
    out.add(kept.join('.'));
  }
  return out;
}

/** Fields neither compared (nor under a compared field) nor listed as not deciding where credentials go. */
function unclassified(s: Schema, at: string, yes: Set<string>, no: Set<string>): string[] {
  if (yes.has(at) || no.has(at)) return [];
  if (!s.properties) return [at];
  return Object.entries(s.properties).flatMap(([k, v]) => unclassified(v, `${at}.${k}`, yes, no));
}

const cases: [string, Schema, string[], string[]][] = [
  [
    'mailboxes',
    mailboxSpec,
    ['spec.credentialsSecretRef', 'spec.serverProfileRef', 'spec.deploymentRef', 'spec.emailAddress'],
    [
      'spec.owner',
      'spec.incoming',
      'spec.outgoing',
      'spec.appointmentsContactsTasks',
      'spec.forwardMailbox',
      'spec.deleteAfterProcessing',
      'spec.suspended',
      'spec.processEmailReceivedAfter',
      'spec.takeOverAddress',
      'spec.act',
    ],
  ],
  [
    'emailserverprofiles',
    emailServerProfileSpec,
    [
      'spec.serverType',
      'spec.useSameSettingsForOutgoing',
      'spec.allowInsecureAuthentication',
      'spec.incoming.server',
      'spec.outgoing.caBundle',
      'spec.incoming.credentials',
      'spec.outgoing.oauth',
    ],
    [
      'spec.exchangeVersion',
      'spec.incoming.timeout',
      'spec.incoming.notifications',
      'spec.incoming.compress',
      'spec.outgoing.timeout',
      'spec.outgoing.sendMode',
      'spec.outgoing.saveToSentFolder',
      'spec.maxConcurrentConnections',
      'spec.minPollingInterval',
      'spec.maxPollingInterval',
      'spec.processEmailReceivedAfter',
      'spec.moveFailedToUndeliverable',
      'spec.maxAttachmentSize',
      'spec.appointmentsContactsTasks',
      'spec.rollout',
    ],
  ],
  [
    'deployments',
    deploymentSpec,
    [
      'spec.crm.type',
      'spec.crm.url',
      'spec.crm.oauth',
      'spec.crm.caBundle',
      'spec.crm.credentialsSecretRef',
      'spec.crm.allowInsecureAuthentication',
      'spec.defaults.serverProfileRef',
    ],
    [
      'spec.crm.timeout',
      // Where Dataverse mailbox rows are handed over or mirrored: the same CRM and credentials.
      'spec.crm.dynamics',
      'spec.defaults.incoming',
      'spec.defaults.outgoing',
      'spec.defaults.appointmentsContactsTasks',
      // How appointments, contacts and tasks flow; the connector and its Secret are spec.crm.
      'spec.appointmentsContactsTasks',
      // Guarded by the approval policy instead.
      'spec.requireApprovedUsers',
      'spec.requireApprovedQueues',
      'spec.autoApproveDomains',
      'spec.incomingFiltering',
      'spec.trackingToken',
      'spec.correlation',
      'spec.internalEmail',
      'spec.trackSentItems',
      'spec.maxAttachmentSize',
      // How failures are retried, not where anything goes.
      'spec.retryPolicy',
      'spec.firstSync',
    ],
  ],
];

test.each(cases)(
  'every spec field of %s is classified: compared by the policy, or known not to decide where credentials go',
  (resource, spec, mustCompare, notDestination) => {
    const yes = compared(policyFor(resource), spec);
    expect([...yes].filter((p) => p === 'spec')).toEqual([]); // every comparison names a real field
    expect(mustCompare.filter((p) => !yes.has(p))).toEqual([]);
    expect(notDestination.filter((p) => yes.has(p))).toEqual([]);
    expect(unclassified(spec, 'spec', yes, new Set(notDestination))).toEqual([]);
  },
);
