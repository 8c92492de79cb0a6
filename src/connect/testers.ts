// Picks the protocol adapter that tests one direction of a mailbox. The reconcilers see only the
// MailboxTesting interface; this module is the one place that knows which adapter serves which
// protocol.

import { EwsAdapter } from '../mail/ews.js';
import { GraphAdapter } from '../mail/graph.js';
import { ImapAdapter } from '../mail/imap.js';
import { ClientCredentialsTokenProvider, RefreshTokenProvider, type ClientCredential } from '../mail/oauth.js';
import { Pop3Adapter } from '../mail/pop3.js';
import { SmtpAdapter } from '../mail/smtp.js';
import { MailError, type ConnectionTester, type Credentials, type Endpoint, type TokenProvider } from '../mail/types.js';
import type { SlotClaim } from '../mail/connection-slots.js';
import { slotClaim } from './connection-limits.js';
import type { DirectionSettings, OAuthSettings } from './settings.js';

/** Token providers are cached per client and credential, so tokens are reused until they near expiry. */
const tokenProviders = new Map<string, TokenProvider>();

/** Password/static-token credentials, or a token provider for OAuth (client credentials or refresh token). */
export function credentialsFor(s: DirectionSettings): Credentials | undefined {
  if (s.credentials) return s.credentials;
  if (!s.oauth) return undefined;
  const o = s.oauth;
  const g = o.grant;
  // Everything that decides the token, secret values included (kept in memory only), functions not.
  const identity =
    g.kind === 'secret'
      ? g.secret
      : g.kind === 'certificate'
        ? g.privateKeyPem
        : g.kind === 'federated'
          ? g.serviceAccount
          : g.refreshToken;
  const key = JSON.stringify([o.tokenUrl ?? o.authorityURL, o.tenantId, o.clientId, g.kind, identity, o.scope, s.endpoint.ca]);
  let provider = tokenProviders.get(key);
  if (!provider) {
    provider = tokenProviderFor(o, s.endpoint);
    tokenProviders.set(key, provider);
  }
  return { kind: 'oauth2', username: o.username ?? s.address, token: provider };
}

function tokenProviderFor(o: OAuthSettings, endpoint: Endpoint): TokenProvider {
  const http = { ca: endpoint.ca, timeoutMs: endpoint.timeoutMs };
  const g = o.grant;
  if (g.kind === 'refresh') {
    const tokenUrl = o.tokenUrl ?? `${o.authorityURL.replace(/\/+$/, '')}/${encodeURIComponent(o.tenantId ?? 'common')}/oauth2/v2.0/token`;
    return new RefreshTokenProvider({
      tokenUrl,
      clientId: o.clientId,
      refreshToken: g.refreshToken,
      ...(g.clientSecret ? { clientSecret: g.clientSecret } : {}),
      ...(o.scope ? { scope: o.scope } : {}),
      ...(g.store ? { onRotated: g.store } : {}),
      ...http,
    });
  }
  const credential: ClientCredential =
    g.kind === 'secret'
      ? { kind: 'secret', secret: g.secret }
      : g.kind === 'certificate'
        ? { kind: 'certificate', certificatePem: g.certificatePem, privateKeyPem: g.privateKeyPem }
        : { kind: 'federated', assertion: g.token, source: `system:serviceaccount:${g.serviceAccount.replace('/', ':')}` };
  return new ClientCredentialsTokenProvider({
    tenantId: o.tenantId ?? 'common',
    clientId: o.clientId,
    credential,
    scope: o.scope,
    authorityUrl: o.authorityURL,
    ...(o.tokenUrl ? { tokenUrl: o.tokenUrl } : {}),
    ...http,
  });
}

export function ewsAdapterFor(s: DirectionSettings, credentials: Credentials, slots: SlotClaim = slotClaim(s)): EwsAdapter {
  return new EwsAdapter(s.endpoint, credentials, {
    mailbox: s.address,
    slots,
    authentication: s.authentication === 'NTLM' ? 'NTLM' : 'Basic',
    impersonate: s.impersonation,
    autodiscover: s.autodiscover,
    ...(s.exchangeVersion ? { version: s.exchangeVersion } : {}),
  });
}

export function testerFor(s: DirectionSettings): ConnectionTester {
  const credentials = credentialsFor(s);
  if (!credentials) {
    return {
      test: async () =>
        Promise.reject(new MailError('UnsupportedConfiguration', `${s.authentication} authentication is not available for ${s.protocol}`)),
    };
  }
  switch (s.protocol) {
    case 'IMAP':
      return new ImapAdapter(s.endpoint, credentials, { slots: slotClaim(s) });
    case 'POP3':
      return new Pop3Adapter(s.endpoint, credentials);
    case 'SMTP': {
      const smtp = new SmtpAdapter(s.endpoint, credentials, { maxConnections: 1, slots: slotClaim(s) });
      return {
        test: async (signal) => {
          try {
            await smtp.test(signal);
          } finally {
            smtp.close();
          }
        },
      };
    }
    case 'EWS': {
      const ews = ewsAdapterFor(s, credentials);
      const serverDescription = () => ews.serverDescription();
      if (s.direction === 'appointmentsContactsTasks')
        return { test: (signal) => ews.testAppointmentsContactsTasks(signal), serverDescription };
      return s.direction === 'outgoing' ? { test: (signal) => ews.testOutgoing(signal), serverDescription } : ews;
    }
    case 'Graph': {
      // The constructor refuses password credentials with a clear UnsupportedConfiguration.
      try {
        return new GraphAdapter(s.endpoint, credentials, { mailbox: s.address, slots: slotClaim(s) });
      } catch (err) {
        return { test: async () => Promise.reject(err) };
      }
    }
  }
}
