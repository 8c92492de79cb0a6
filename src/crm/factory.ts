// Chooses and builds the connector a Deployment asks for (spec.crm.type) from its spec and the
// decoded data of its credentials Secret. A missing setting is a CRMAuthenticationFailed error
// whose message names the field or Secret key to add: the Deployment's Ready condition shows it.
import type { DeploymentSpec } from '../api/types.js';
import { FEDERATION_AUDIENCE, type ClientCredential, type TokenSourceFactory } from '../net/oauth-client.js';
import { DynamicsActConnector } from './dynamics-act.js';
import { CrmError, type CrmConnector } from './types.js';
import { WebhookActConnector } from './act-webhook.js';

export interface ConnectorOptions {
  /** Extra trusted CA (PEM) from spec.crm.caBundle, already resolved. */
  ca?: string;
  /** Per-request timeout (spec.crm.timeout, parsed). */
  timeoutMs?: number;
  /** A token of a ServiceAccount of the Deployment's namespace (workload identity, spec.crm.oauth.serviceAccountName). */
  serviceAccountToken?: (name: string, audience: string) => Promise<string>;
  /** Builds Dynamics 365's OAuth token source (required for Dynamics365: mail/oauth.ts's clientCredentials). */
  tokenSource?: TokenSourceFactory;
}

/**
 * Hosts whose traffic never leaves the pod's network namespace (a CRM adapter running as a sidecar,
 * or a local run): http:// to them crosses no network, so it needs no opt-in.
 */
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Refuses a URL that would carry the CRM credentials in cleartext over a network, as admission
 * does (spec.crm.allowInsecureAuthentication): it holds for Deployments admitted before that rule too.
 */
function requireTls(spec: DeploymentSpec['crm'], url: string | undefined, field: string): void {
  if (!url) return;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new CrmError('CRMError', `${field} is not a URL: write it as https://org.crm.dynamics.com`, { permanent: true });
  }
  if (u.protocol === 'https:' || (u.protocol === 'http:' && (LOOPBACK_HOSTS.has(u.hostname) || spec.allowInsecureAuthentication))) return;
  const message =
    u.protocol === 'http:'
      ? `${field} uses http:// on ${u.hostname}, which would send the CRM credentials in cleartext: use https://, or set spec.crm.allowInsecureAuthentication: true to accept the risk`
      : `${field} uses ${u.protocol}//: use an https:// URL such as https://org.crm.dynamics.com`;
  throw new CrmError('CRMError', message, { permanent: true });
}

/** Secrets shorter than this are refused: they are guessable, and too short to redact from messages. */
const MIN_SECRET_LENGTH = 16;

/**
 * `secret` is the decoded data of the Secret named by spec.crm.credentialsSecretRef (callers that
 * hold the credentials some other way, like the benchmarks, pass them directly).
 */
export function createConnector(spec: DeploymentSpec['crm'], secret: Record<string, string>, opts: ConnectorOptions = {}): CrmConnector {
  requireTls(spec, spec.url, 'spec.crm.url');
  requireTls(spec, spec.oauth?.authorityURL, 'spec.crm.oauth.authorityURL');
  requireTls(spec, spec.oauth?.tokenURL, 'spec.crm.oauth.tokenURL');
  const secretName = spec.credentialsSecretRef ? `Secret "${spec.credentialsSecretRef.name}"` : undefined;
  const key = (name: string, what: string): string => {
    const value = secret[name]?.trim();
    if (!value && !secretName) {
      throw new CrmError(
        'CRMAuthenticationFailed',
        `spec.crm.credentialsSecretRef is required for ${spec.type}: name a Secret in this namespace with key "${name}" (${what})`,
      );
    }
    if (!value)
      throw new CrmError(
        'CRMAuthenticationFailed',
        `${secretName} (spec.crm.credentialsSecretRef) has no key "${name}": add ${what} under key "${name}"`,
      );
    if (value.length < MIN_SECRET_LENGTH) {
      throw new CrmError(
        'CRMAuthenticationFailed',
        `${secretName ?? 'The credentials Secret'} key "${name}" is shorter than ${MIN_SECRET_LENGTH} characters: use ${what} of at least ${MIN_SECRET_LENGTH} random characters`,
      );
    }
    return value;
  };

  switch (spec.type) {
    case 'Webhook':
      return new WebhookActConnector({
        url: spec.url,
        token: key('token', 'the bearer token the CRM expects'),
        signingKey: key('signingKey', 'the key the CRM verifies X-Mailsync-Signature with'),
        timeoutMs: opts.timeoutMs,
        ca: opts.ca,
        secretName,
      });
    case 'Dynamics365': {
      const oauth = spec.oauth;
      if (!oauth?.tenantId)
        throw new CrmError(
          'CRMAuthenticationFailed',
          'spec.crm.oauth.tenantId is required for Dynamics365: the Microsoft Entra tenant (GUID or domain) of the Dataverse environment',
        );
      if (!oauth.clientId)
        throw new CrmError(
          'CRMAuthenticationFailed',
          'spec.crm.oauth.clientId is required for Dynamics365: the application (client) id of the app registration',
        );
      if (!opts.tokenSource) throw new Error('createConnector: Dynamics365 needs opts.tokenSource (the OAuth client-credentials provider)');
      // The client's credential: a secret, a certificate (a kubernetes.io/tls Secret), or workload identity.
      const sa = oauth.serviceAccountName;
      const credential: ClientCredential | undefined =
        secret.clientSecret === undefined && secret['tls.crt'] && secret['tls.key']
          ? { kind: 'certificate', certificatePem: secret['tls.crt'], privateKeyPem: secret['tls.key'] }
          : secret.clientSecret === undefined && sa && opts.serviceAccountToken
            ? { kind: 'federated', assertion: () => opts.serviceAccountToken!(sa, FEDERATION_AUDIENCE), source: `ServiceAccount "${sa}"` }
            : undefined;
      return new DynamicsActConnector({
        url: spec.url,
        tenantId: oauth.tenantId,
        clientId: oauth.clientId,
        ...(credential
          ? { credential }
          : {
              clientSecret: key(
                'clientSecret',
                "the app registration's client secret value (or tls.crt and tls.key, or spec.crm.oauth.serviceAccountName)",
              ),
            }),
        authorityUrl: oauth.authorityURL,
        scope: oauth.scope,
        ...(oauth.tokenURL ? { tokenUrl: oauth.tokenURL } : {}),
        timeoutMs: opts.timeoutMs,
        ca: opts.ca,
        secretName,
        tokenSource: opts.tokenSource,
      });
    }
    default:
      throw new CrmError(
        'CRMError',
        `spec.crm.type "${String((spec as { type?: unknown }).type)}" is not supported: use Webhook or Dynamics365`,
        { permanent: true },
      );
  }
}
