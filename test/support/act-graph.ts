// A Graph ACT adapter on the fake Graph and its fake OAuth authority, for tests (the app's client
// credentials, a 30-day past and 180-day future calendar window).
import { GraphActAdapter } from '../../src/act/exchange/graph.js';
import { ClientCredentialsTokenProvider } from '../../src/mail/oauth.js';
import type { FakeGraph } from './fake-graph.js';
import type { FakeOAuth } from './fake-oauth.js';

export function fakeGraphActAdapter(
  oauth: FakeOAuth,
  graph: FakeGraph,
  app: { tenantId: string; clientId: string; clientSecret: string },
  mailbox: string,
  org: string,
): GraphActAdapter {
  const ca = [oauth.caPem, graph.caPem].join('\n');
  const token = new ClientCredentialsTokenProvider({
    ...app,
    scope: 'https://graph.microsoft.com/.default',
    authorityUrl: oauth.authorityUrl,
    ca,
  });
  return new GraphActAdapter(
    { host: '127.0.0.1', port: 443, tls: 'Implicit', url: graph.baseUrl, ca },
    { kind: 'oauth2', username: mailbox, token },
    { mailbox, pastDays: 30, futureDays: 180 },
    org,
  );
}
