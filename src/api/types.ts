// The three kinds as TypeScript objects, on top of the types generated from schema.ts.

import type { KubernetesObject, V1ObjectMeta } from '@kubernetes/client-node';
import type { Condition } from '../kube/conditions.js';
import type {
  DeploymentSpec,
  DeploymentStatus,
  EmailServerProfileSpec,
  EmailServerProfileStatus,
  MailboxSpec,
  MailboxStatus,
} from './types.generated.js';
import { API_VERSION, GROUP, VERSION } from './schema.js';

export type { DeploymentSpec, EmailServerProfileSpec, MailboxSpec };

type WithConditions<S> = Omit<S, 'conditions'> & { conditions?: Condition[] };

export interface Resource<Spec, Status> extends KubernetesObject {
  metadata: V1ObjectMeta & { name: string; namespace: string };
  spec: Spec;
  status?: WithConditions<Status>;
}

export type EmailServerProfile = Resource<EmailServerProfileSpec, EmailServerProfileStatus>;
export type Mailbox = Resource<MailboxSpec, MailboxStatus>;
export type Deployment = Resource<DeploymentSpec, DeploymentStatus>;
export type ProfileStatus = WithConditions<EmailServerProfileStatus>;
export type MailboxStatusT = WithConditions<MailboxStatus>;
export type DeploymentStatusT = WithConditions<DeploymentStatus>;

export type ConnectionSpec = NonNullable<EmailServerProfileSpec['incoming']> | NonNullable<EmailServerProfileSpec['outgoing']>;
export type ServerType = EmailServerProfileSpec['serverType'];

export const RESOURCES = {
  profiles: { apiVersion: API_VERSION, kind: 'EmailServerProfile', plural: 'emailserverprofiles', group: GROUP, version: VERSION },
  mailboxes: { apiVersion: API_VERSION, kind: 'Mailbox', plural: 'mailboxes', group: GROUP, version: VERSION },
  deployments: { apiVersion: API_VERSION, kind: 'Deployment', plural: 'deployments', group: GROUP, version: VERSION },
  secrets: { apiVersion: 'v1', kind: 'Secret', plural: 'secrets', group: '', version: 'v1' },
  configMaps: { apiVersion: 'v1', kind: 'ConfigMap', plural: 'configmaps', group: '', version: 'v1' },
} as const;

/** Annotation carrying a timestamp: a change asks for Test and Enable again (usable from GitOps). */
export const TEST_REQUESTED_AT = 'mailsync.dev/test-requested-at';
/** Annotation carrying a timestamp: a change asks for an immediate sync cycle. */
export const SYNC_REQUESTED_AT = 'mailsync.dev/sync-requested-at';

/**
 * What a mailbox is: a user's, a queue's, or a forward mailbox (no owner). Forward mailboxes sort
 * first in rollouts ("Forward" < "Queue" < "User"): many users' mail goes through one of them.
 */
export type MailboxKind = 'User' | 'Queue' | 'Forward';
export const mailboxKind = (m: { spec: MailboxSpec }): MailboxKind =>
  m.spec.forwardMailbox || !m.spec.owner ? 'Forward' : m.spec.owner.kind;

export const isExchange = (t: ServerType): boolean => t === 'ExchangeServer' || t === 'ExchangeOnline';
/** Declarative approval from Git: set to the exact address by a principal holding the approve verb. */
export const APPROVED_ADDRESS = 'mailsync.dev/approved-address';
/** Declarative denial from Git: set to the exact address by a principal holding the approve verb. */
export const DENIED_ADDRESS = 'mailsync.dev/denied-address';
