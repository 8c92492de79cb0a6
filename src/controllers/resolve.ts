// Resolves what a Mailbox refers to, applying the Deployment's defaults. Pure functions over the
// caches, shared by the reconcilers and the reference index.

import type { Deployment, EmailServerProfile, Mailbox } from '../api/types.js';
import { isExchange } from '../api/types.js';
import type { Caches } from '../domain/caches.js';
import { effectiveProfileName } from '../domain/mailbox-index.js';
import { effectiveDeliveryMethods, type DeliveryMethods } from '../domain/delivery-methods.js';
import type { Direction } from '../domain/testing-ports.js';

export interface EffectiveMailbox extends DeliveryMethods {
  deployment: Deployment;
  profile: EmailServerProfile;
}

export type Resolution = { ok: true; value: EffectiveMailbox } | { ok: false; reason: string; message: string };

// Defined beside the mailbox index, which groups mailboxes by it.
export { effectiveProfileName };

/**
 * The directions that are tested and synced for these delivery methods. A mailbox whose incoming
 * method is ForwardMailbox is not read: its mail reaches the CRM through the Deployment's forward
 * mailbox, and reading both would make two activities of each message.
 */
export function directionsOf(m: DeliveryMethods): Direction[] {
  const out: Direction[] = [];
  if (m.incoming === 'ServerSideSync') out.push('incoming');
  if (m.outgoing === 'ServerSideSync') out.push('outgoing');
  if (m.appointmentsContactsTasks === 'ServerSideSync') out.push('appointmentsContactsTasks');
  return out;
}

/** Why a direction is not tested nor synced (its condition is NotRun). */
export function notRunMessage(d: Direction, m: DeliveryMethods): string {
  if (d === 'incoming' && m.incoming === 'ForwardMailbox')
    return "incoming delivery method is ForwardMailbox: this mailbox is not read; its mail reaches the CRM through its Deployment's forward mailbox";
  return `${d === 'appointmentsContactsTasks' ? 'appointments, contacts and tasks' : d} delivery method is None`;
}

export function resolveMailbox(mbx: Mailbox, caches: Caches): Resolution {
  const ns = mbx.metadata.namespace;
  const depName = mbx.spec.deploymentRef.name;
  const deployment = caches.deployments.get(ns, depName);
  if (!deployment) {
    return {
      ok: false,
      reason: 'DeploymentNotFound',
      message: `deployments.mailsync.dev "${depName}" not found in namespace "${ns}": create it or correct spec.deploymentRef.name`,
    };
  }
  const profileName = effectiveProfileName(mbx, deployment);
  if (!profileName) {
    return {
      ok: false,
      reason: 'ServerProfileNotSet',
      message: `no email server profile: set spec.serverProfileRef.name or spec.defaults.serverProfileRef.name on deployment "${depName}"`,
    };
  }
  const profile = caches.profiles.get(ns, profileName);
  if (!profile) {
    const from = mbx.spec.serverProfileRef ? 'spec.serverProfileRef.name' : `the default of deployment "${depName}"`;
    return {
      ok: false,
      reason: 'ServerProfileNotFound',
      message: `emailserverprofiles.mailsync.dev "${profileName}" (from ${from}) not found in namespace "${ns}": create it or correct the reference`,
    };
  }
  const value: EffectiveMailbox = { deployment, profile, ...effectiveDeliveryMethods(mbx, deployment) };
  // Rules that need both objects, which CEL on one object cannot check.
  if (value.appointmentsContactsTasks === 'ServerSideSync') {
    if (!isExchange(profile.spec.serverType)) {
      return {
        ok: false,
        reason: 'UnsupportedConfiguration',
        message: `appointments, contacts and tasks need an Exchange profile, but "${profileName}" is ${profile.spec.serverType}: set spec.appointmentsContactsTasks: None`,
      };
    }
    if (!profile.spec.appointmentsContactsTasks?.enabled) {
      return {
        ok: false,
        reason: 'UnsupportedConfiguration',
        message: `profile "${profileName}" does not allow appointment, contact and task sync: set its spec.appointmentsContactsTasks.enabled: true or this mailbox's spec.appointmentsContactsTasks: None`,
      };
    }
    if (mbx.spec.owner?.kind === 'Queue') {
      return {
        ok: false,
        reason: 'UnsupportedConfiguration',
        message:
          'queues do not synchronize appointments, contacts and tasks (from the Deployment default): set spec.appointmentsContactsTasks: None',
      };
    }
  }
  const source = profile.spec.incoming?.credentials?.source ?? 'Mailbox';
  // An anonymous SMTP relay signs nothing in: outgoing through it needs no credentials.
  const relay = profile.spec.useSameSettingsForOutgoing === false && profile.spec.outgoing?.authentication === 'None';
  if (
    source === 'Mailbox' &&
    !mbx.spec.credentialsSecretRef &&
    (value.incoming === 'ServerSideSync' || (value.outgoing === 'ServerSideSync' && !relay))
  ) {
    return {
      ok: false,
      reason: 'CredentialsMissing',
      message: `profile "${profileName}" takes credentials from each mailbox: set spec.credentialsSecretRef.name to a Secret with username and password`,
    };
  }
  return { ok: true, value };
}
