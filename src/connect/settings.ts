// Turns a profile, a mailbox and their Secrets into what a protocol adapter needs: an Endpoint and
// Credentials per direction. This is where the API's vocabulary (serverType, useSameSettings,
// credentials.source) meets the adapters'; neither side knows the other.

import { createHash } from 'node:crypto';
import type { ConnectionSpec, EmailServerProfileSpec, MailboxSpec } from '../api/types.js';
import { registerSecrets } from '../util/redact.js';
import { durationMs } from '../api/quantities.js';
import type { ExchangeProduct } from '../mail/ews-version.js';
import { FEDERATION_AUDIENCE } from '../net/oauth-client.js';
import type { Credentials, Endpoint, TlsMode, TokenProvider } from '../mail/types.js';

export type Direction = 'incoming' | 'outgoing' | 'appointmentsContactsTasks';
export type Protocol = 'IMAP' | 'POP3' | 'SMTP' | 'EWS' | 'Graph';

/** Decoded Secret data and its resourceVersion (part of the configuration revision). */
export interface SecretData {
  data: Record<string, string>;
  resourceVersion: string;
}

export interface Lookups {
  /** The namespace the names resolve in. */
  namespace?: string;
  secret(name: string): SecretData | undefined;
  configMap(name: string): SecretData | undefined;
  /** A token of a ServiceAccount of the namespace for this audience (workload identity federation). */
  serviceAccountToken?(name: string, audience: string): Promise<string>;
  /** Writes one key of a Secret of the namespace (a rotated refresh token). */
  writeSecretKey?(name: string, key: string, value: string): Promise<void>;
}

/**
 * How an OAuth client proves itself, or the user's refresh token (delegated access). Secret values
 * and functions; fingerprints keep only the kind and names.
 */
export type OAuthGrant =
  | { kind: 'secret'; secret: string }
  | { kind: 'certificate'; certificatePem: string; privateKeyPem: string }
  /** Workload identity: a token of this ServiceAccount (`namespace/name`) exchanged at the token endpoint. */
  | { kind: 'federated'; serviceAccount: string; token: () => Promise<string> }
  | { kind: 'refresh'; refreshToken: string; clientSecret?: string; store?: (refreshToken: string) => Promise<void> };

export interface OAuthSettings {
  tenantId?: string;
  clientId: string;
  grant: OAuthGrant;
  authorityURL: string;
  /** The scope asked for; empty for a refresh token that keeps its consented scope (Google). */
  scope: string;
  /** The token endpoint, when not `{authorityURL}/{tenantId}/oauth2/v2.0/token`. */
  tokenUrl?: string;
  /** The user the token signs in as over IMAP, POP3 and SMTP (XOAUTH2); the mailbox by default. */
  username?: string;
}

export interface DirectionSettings {
  direction: Direction;
  protocol: Protocol;
  endpoint: Endpoint;
  address: string;
  /** Password or static-token credentials; for OAuth2 client credentials see `oauth`. */
  credentials?: Credentials;
  oauth?: OAuthSettings;
  authentication: 'Basic' | 'NTLM' | 'OAuth2' | 'XOAUTH2' | 'None';
  impersonation: boolean;
  autodiscover: boolean;
  sendMode: 'SendAs' | 'SendOnBehalf';
  /** The profile's maxConcurrentConnections: connections at once per server and identity. */
  maxConnections: number;
  /** The credentials are the profile's (credentials.source: Profile), shared by all its mailboxes. */
  sharedCredentials: boolean;
  /** EWS: the server's Exchange version (spec.exchangeVersion); detected when unset. */
  exchangeVersion?: ExchangeProduct;
  /** Versions of every Secret/ConfigMap read, for the revision hash. */
  versions: string[];
}

export type SettingsResult = { ok: true; value: DirectionSettings } | { ok: false; reason: string; message: string };

const DEFAULT_PORTS: Record<string, Partial<Record<TlsMode, number>>> = {
  IMAP: { Implicit: 993, STARTTLS: 143, None: 143 },
  POP3: { Implicit: 995, STARTTLS: 110, None: 110 },
  SMTP: { Implicit: 465, STARTTLS: 587, None: 25 },
};

export function protocolFor(spec: EmailServerProfileSpec, direction: Direction): Protocol {
  if (direction === 'incoming' && spec.incoming?.protocol) return spec.incoming.protocol;
  if (direction === 'outgoing' && spec.outgoing?.protocol) return spec.outgoing.protocol;
  switch (spec.serverType) {
    case 'ExchangeServer':
      return 'EWS';
    case 'ExchangeOnline':
      return 'Graph';
    default:
      return direction === 'incoming' ? spec.serverType : 'SMTP';
  }
}

const unbracketed = (host: string): string => (host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host);

/**
 * Why a connection would carry credentials in cleartext without the profile's opt-in, or
 * undefined. Admission refuses such profiles already; this holds for objects admitted before
 * those rules existed, so the guarantee does not depend on when a profile was written.
 */
function insecureTransport(
  spec: EmailServerProfileSpec,
  c: { field: string; tls?: TlsMode; url?: string; authorityURL?: string; authField: string },
): string | undefined {
  if (spec.allowInsecureAuthentication) return undefined;
  const fix = 'or set spec.allowInsecureAuthentication: true to accept the risk';
  if (c.tls === 'None') return `${c.field}.tls is None, which would send credentials in cleartext; use Implicit or STARTTLS, ${fix}`;
  if (c.url?.startsWith('http://')) return `${c.field}.url uses http://, which would send credentials in cleartext; use https://, ${fix}`;
  if (c.authorityURL?.startsWith('http://'))
    return `${c.authField}.oauth.authorityURL uses http://, which would send the client secret in cleartext; use https://, ${fix}`;
  return undefined;
}

/** Where a direction connects, resolved from the profile: the endpoint, and which sections say how. */
interface Location {
  protocol: Protocol;
  endpoint: Endpoint;
  /** The section that says where to connect, and the one that says how to sign in. */
  place: ConnectionSpec;
  auth: ConnectionSpec;
  field: string;
  placeField: string;
  authField: string;
  versions: string[];
}

/**
 * Where one direction of a profile connects, for a mailbox of this address (autodiscover starts
 * from its domain): everything but the credentials. Failures name the field to fix.
 */
function locate(
  profile: { name: string; spec: EmailServerProfileSpec },
  address: string,
  direction: Direction,
  lookups: Lookups,
): { ok: true; value: Location } | { ok: false; reason: string; message: string } {
  const spec = profile.spec;
  const protocol = protocolFor(spec, direction);
  // Where the server is: the direction's own section; outgoing Exchange falls back to incoming's URL.
  const own: ConnectionSpec = (direction === 'outgoing' ? spec.outgoing : spec.incoming) ?? {};
  const place: ConnectionSpec =
    direction === 'outgoing' && !own.server && !own.url && (protocol === 'EWS' || protocol === 'Graph') ? (spec.incoming ?? {}) : own;
  // How to authenticate: incoming's settings unless outgoing has its own
  // (useSameSettingsForOutgoing: authentication, credentials and oauth, as its description says).
  const separate = direction === 'outgoing' && spec.useSameSettingsForOutgoing === false;
  const auth: ConnectionSpec = separate ? own : (spec.incoming ?? {});
  const field = direction === 'outgoing' ? 'spec.outgoing' : 'spec.incoming';
  const placeField = place === own ? field : 'spec.incoming';
  const authField = separate ? 'spec.outgoing' : 'spec.incoming';
  const mailProtocol = protocol === 'IMAP' || protocol === 'POP3' || protocol === 'SMTP';
  if (mailProtocol && !place.server) {
    return { ok: false, reason: 'UnsupportedConfiguration', message: `profile "${profile.name}" has no ${field}.server for ${protocol}` };
  }
  const tls = (place.tls ?? 'Implicit') as TlsMode;
  const cleartext = insecureTransport(spec, {
    field: placeField,
    tls: mailProtocol ? tls : undefined,
    url: place.url,
    authorityURL: auth.oauth?.authorityURL,
    authField,
  });
  if (cleartext) return { ok: false, reason: 'UnsupportedConfiguration', message: `profile "${profile.name}": ${cleartext}` };
  const versions: string[] = [];

  // The CA bundle of the place connected to; outgoing with the same settings as incoming trusts
  // incoming's bundle unless it has its own (one private CA usually issues both certificates).
  const [caBundle, caField] = place.caBundle
    ? [place.caBundle, placeField]
    : direction === 'outgoing' && !separate && spec.incoming?.caBundle
      ? [spec.incoming.caBundle, 'spec.incoming']
      : [undefined, field];
  let ca: string | undefined;
  if (caBundle) {
    const ref = caBundle.secretRef ?? caBundle.configMapRef!;
    const src = caBundle.secretRef ? lookups.secret(ref.name) : lookups.configMap(ref.name);
    const what = caBundle.secretRef ? 'Secret' : 'ConfigMap';
    const key = ref.key ?? 'ca.crt';
    if (!src?.data[key]) {
      return {
        ok: false,
        reason: 'CABundleNotFound',
        message: `${what} "${ref.name}" with key "${key}" (${caField}.caBundle) not found in the profile's namespace`,
      };
    }
    ca = src.data[key];
    versions.push(`${what}/${ref.name}@${src.resourceVersion}`);
  }

  const endpoint: Endpoint = {
    // Autodiscover without a URL starts from the mailbox's domain, as Outlook does. An IPv6
    // address may be written in brackets ([2001:db8::1]); sockets take it without them.
    host: place.server
      ? unbracketed(place.server)
      : place.url
        ? new URL(place.url).hostname
        : place.autodiscover
          ? address.slice(address.lastIndexOf('@') + 1)
          : '',
    port: place.port ?? DEFAULT_PORTS[protocol]?.[tls] ?? 443,
    tls,
    ca,
    url: place.url,
    timeoutMs: durationMs(place.timeout, 30_000),
  };
  return { ok: true, value: { protocol, endpoint, place, auth, field, placeField, authField, versions } };
}

/** The endpoint of a direction of a profile, without credentials (a profile's own connection test). */
export function resolveEndpoint(
  profile: { name: string; spec: EmailServerProfileSpec },
  direction: 'incoming' | 'outgoing',
  lookups: Lookups,
  address: string,
): { ok: true; value: Endpoint } | { ok: false; reason: string; message: string } {
  const located = locate(profile, address, direction, lookups);
  return located.ok ? { ok: true, value: located.value.endpoint } : located;
}

/**
 * Settings for one direction of one mailbox. Failures are configuration problems the user must
 * fix (a missing Secret or key), reported with the field to change.
 */
export function resolveDirection(
  profile: { name: string; spec: EmailServerProfileSpec },
  mailbox: MailboxSpec,
  direction: Direction,
  lookups: Lookups,
): SettingsResult {
  const located = locate(profile, mailbox.emailAddress, direction, lookups);
  if (!located.ok) return located;
  const { protocol, endpoint, place, auth, field, placeField, authField, versions } = located.value;
  const spec = profile.spec;

  const source = auth.credentials?.source ?? 'Mailbox';
  const secretName = source === 'Profile' ? auth.credentials?.secretRef?.name : mailbox.credentialsSecretRef?.name;
  const secretField =
    source === 'Profile' ? `${authField}.credentials.secretRef of profile "${profile.name}"` : 'spec.credentialsSecretRef';
  // Autodiscover without a URL or server goes to the domain of the mailbox's address. With the
  // mailbox's own Secret that is the mailbox's business (the admission policy checks who may
  // change the domain); with the profile's shared Secret, anyone who may create a Mailbox could
  // send it to a domain of their choosing. Refused before any connection.
  if (source === 'Profile' && !place.server && !place.url && place.autodiscover) {
    return {
      ok: false,
      reason: 'UnsupportedConfiguration',
      message:
        `profile "${profile.name}" would autodiscover from the domain of each mailbox's address with its own credentials (${secretField}), so a Mailbox could send them to any domain; ` +
        `set ${placeField}.url to the Autodiscover service (https://<server>/autodiscover/autodiscover.svc) or ${placeField}.server`,
    };
  }
  const authentication = auth.authentication ?? 'Basic';
  const o = auth.oauth;
  // Workload identity needs no Secret: the ServiceAccount's token is the credential.
  const federated =
    (authentication === 'OAuth2' || authentication === 'XOAUTH2') && o?.serviceAccountName ? o.serviceAccountName : undefined;
  let d: Record<string, string> = {};
  if (authentication === 'None') {
    // An anonymous SMTP relay (allowed by IP, over TLS): nothing to sign in with.
  } else if (secretName) {
    const secret = lookups.secret(secretName);
    if (!secret)
      return { ok: false, reason: 'SecretNotFound', message: `Secret "${secretName}" (${secretField}) not found in the namespace` };
    versions.push(`Secret/${secretName}@${secretVersion(secret)}`);
    d = secret.data;
  } else if (!federated) {
    return { ok: false, reason: 'CredentialsMissing', message: `no credentials: set ${secretField}` };
  }
  const username = d.username ?? mailbox.emailAddress;
  // With the username, so the SASL PLAIN and XOAUTH2 blobs that carry both are known too.
  registerSecrets([d.password, d.accessToken], { username });
  registerSecrets([d.clientSecret, d.refreshToken, d['tls.key']]);
  const missing = (key: string) => ({
    ok: false as const,
    reason: 'CredentialsMissing',
    message: `Secret "${secretName}" (${secretField}) has no key "${key}" needed for ${authentication} authentication`,
  });

  let credentials: Credentials | undefined;
  let oauth: OAuthSettings | undefined;
  if (authentication === 'None') {
    credentials = { kind: 'anonymous' };
  } else if (authentication === 'Basic' || authentication === 'NTLM') {
    if (!d.password) return missing('password');
    credentials = { kind: 'password', username, password: d.password };
  } else if (authentication === 'XOAUTH2' && !o) {
    // A token someone else keeps fresh, as it is.
    if (!d.accessToken) return missing('accessToken');
    const token = d.accessToken;
    credentials = { kind: 'oauth2', username, token: { getToken: async () => token } satisfies TokenProvider };
  } else {
    if (!o?.clientId)
      return {
        ok: false,
        reason: 'UnsupportedConfiguration',
        message: `${field}.oauth.clientId is required for ${authentication} with a token endpoint`,
      };
    const grant = oauthGrant(d, { federated, namespaceOf: secretName, lookups, secretName, delegated: authentication === 'XOAUTH2' });
    if ('missing' in grant) return missing(grant.missing);
    if ('problem' in grant) return { ok: false, reason: 'UnsupportedConfiguration', message: grant.problem };
    const mailScope = grant.kind === 'refresh' ? '' : 'https://outlook.office365.com/.default';
    oauth = {
      tenantId: o.tenantId,
      clientId: o.clientId,
      grant,
      authorityURL: o.authorityURL ?? 'https://login.microsoftonline.com',
      scope: o.scope ?? (protocol === 'Graph' ? 'https://graph.microsoft.com/.default' : mailScope),
      ...(o.tokenURL ? { tokenUrl: o.tokenURL } : {}),
      ...(authentication === 'XOAUTH2' ? { username } : {}),
    };
  }
  return {
    ok: true,
    value: {
      direction,
      protocol,
      endpoint,
      address: mailbox.emailAddress,
      credentials,
      oauth,
      authentication,
      impersonation: auth.credentials?.impersonation ?? false,
      autodiscover: place.autodiscover ?? false,
      sendMode: spec.outgoing?.sendMode ?? 'SendAs',
      maxConnections: spec.maxConcurrentConnections ?? 10,
      sharedCredentials: source === 'Profile',
      ...(protocol === 'EWS' && spec.exchangeVersion ? { exchangeVersion: spec.exchangeVersion } : {}),
      versions,
    },
  };
}

/**
 * A Secret's part of a revision: its resourceVersion, except for a Secret holding a refresh token,
 * whose rotation (written back by the operator) must not count as a change: the other keys decide.
 */
export function secretVersion(secret: SecretData): string {
  if (secret.data.refreshToken === undefined) return secret.resourceVersion;
  const { refreshToken: _rotating, ...rest } = secret.data;
  return `data-${revisionOf(Object.entries(rest).sort(([a], [b]) => (a < b ? -1 : 1)))}`;
}

/**
 * The OAuth grant a Secret provides: a refresh token (delegated, XOAUTH2 only), else the client's
 * secret, certificate (tls.crt and tls.key) or workload identity.
 */
function oauthGrant(
  d: Record<string, string>,
  opts: { federated?: string; namespaceOf?: string; lookups: Lookups; secretName?: string; delegated: boolean },
): OAuthGrant | { missing: string } | { problem: string } {
  const { lookups, secretName } = opts;
  if (opts.delegated && d.refreshToken) {
    const store =
      secretName && lookups.writeSecretKey ? (token: string) => lookups.writeSecretKey!(secretName, 'refreshToken', token) : undefined;
    return {
      kind: 'refresh',
      refreshToken: d.refreshToken,
      ...(d.clientSecret ? { clientSecret: d.clientSecret } : {}),
      ...(store ? { store } : {}),
    };
  }
  if (d.clientSecret) return { kind: 'secret', secret: d.clientSecret };
  if (d['tls.crt'] && d['tls.key']) return { kind: 'certificate', certificatePem: d['tls.crt'], privateKeyPem: d['tls.key'] };
  if (opts.federated) {
    const name = opts.federated;
    if (!lookups.serviceAccountToken)
      return {
        problem: `workload identity (oauth.serviceAccountName "${name}") needs ServiceAccount tokens, which this process cannot request`,
      };
    return {
      kind: 'federated',
      serviceAccount: `${lookups.namespace ?? ''}/${name}`,
      token: () => lookups.serviceAccountToken!(name, FEDERATION_AUDIENCE),
    };
  }
  return {
    missing: opts.delegated
      ? 'refreshToken (or clientSecret, or tls.crt and tls.key)'
      : 'clientSecret (or tls.crt and tls.key, or set oauth.serviceAccountName)',
  };
}

/**
 * What of the OAuth settings a test depends on, without secret values: the same object as before
 * certificates and workload identity existed for a client secret, so those revisions stay as they were.
 */
export function oauthFingerprint(o: OAuthSettings): Record<string, unknown> {
  const g = o.grant;
  return {
    tenantId: o.tenantId,
    clientId: o.clientId,
    authorityURL: o.authorityURL,
    scope: o.scope,
    tokenUrl: o.tokenUrl,
    username: o.username,
    grant: g.kind === 'secret' ? undefined : g.kind,
    serviceAccount: g.kind === 'federated' ? g.serviceAccount : undefined,
  };
}

/** A short stable hash of anything JSON-serialisable: the revision of a configuration. */
export function revisionOf(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);
}
