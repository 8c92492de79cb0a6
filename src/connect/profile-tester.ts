// ProfileTesting: a profile's own connection test (see controllers/profile-test.ts). For each
// direction with a server: reachability and TLS (mail/probe.ts), then, where the profile holds its
// own credentials, sign-in with the tester Test and Enable uses. A profile whose credentials come
// from each mailbox is not signed in to: there is nothing to sign in with until a mailbox exists.

import type { ConnectionSpec, EmailServerProfile, MailboxSpec } from '../api/types.js';
import type { SecretSource } from '../domain/secret-source.js';
import type { ProfileTestStep, ProfileTesting } from '../domain/testing-ports.js';
import { classifyError } from '../mail/errors.js';
import { probeServer } from '../mail/probe.js';
import { describeEndpoint } from '../net/tls.js';
import { redact } from '../util/redact.js';
import { protocolFor, resolveDirection, resolveEndpoint } from './settings.js';
import { testerFor } from './testers.js';

/** The address a profile test acts on where one is needed (Graph, EWS): no mailbox is opened. */
const NO_MAILBOX = 'connection-test@mailsync.invalid';

export class ConnectProfileTesting implements ProfileTesting {
  async testProfile(profile: EmailServerProfile, lookups: SecretSource, signal?: AbortSignal): Promise<ProfileTestStep[]> {
    const spec = profile.spec;
    const exchange = spec.serverType === 'ExchangeServer' || spec.serverType === 'ExchangeOnline';
    // Outgoing Exchange without a server of its own sends through the incoming one, tested already.
    const directions = (['incoming', 'outgoing'] as const).filter(
      (d) => d === 'incoming' || spec.outgoing?.server || spec.outgoing?.url || !exchange,
    );
    return Promise.all(directions.map((d) => this.testDirection(profile, d, lookups, signal)));
  }

  private async testDirection(
    profile: EmailServerProfile,
    direction: 'incoming' | 'outgoing',
    lookups: SecretSource,
    signal?: AbortSignal,
  ): Promise<ProfileTestStep> {
    const spec = profile.spec;
    const place: ConnectionSpec = (direction === 'outgoing' ? spec.outgoing : spec.incoming) ?? {};
    if (place.autodiscover && !place.url && !place.server) {
      return {
        direction,
        reason: 'NotRun',
        message: "nothing to reach: the server is found by Autodiscover from each mailbox's domain, tested by Test and Enable",
      };
    }
    const auth = direction === 'outgoing' && spec.useSameSettingsForOutgoing === false ? spec.outgoing : spec.incoming;
    // The profile's own credentials: its Secret, or workload identity (a ServiceAccount of its namespace).
    const own = auth?.credentials?.source === 'Profile';
    const secretRef = own ? auth?.credentials?.secretRef : undefined;
    const username = secretRef ? lookups.secret(secretRef.name)?.data.username : undefined;
    // A stand-in mailbox: the Secret's username where it is an address (IMAP, POP3, SMTP sign in as it).
    const stand: MailboxSpec = {
      emailAddress: username?.includes('@') ? username : NO_MAILBOX,
      deploymentRef: { name: '' },
      forwardMailbox: true,
    };
    const named = { name: profile.metadata.name, spec };
    const located = resolveEndpoint(named, direction, lookups, stand.emailAddress);
    if (!located.ok) return { direction, reason: located.reason, message: located.message };
    const protocol = protocolFor(spec, direction);
    let reached: string;
    try {
      reached = await probeServer(located.value, protocol, signal);
    } catch (err) {
      return failed(direction, err, '');
    }
    const first = `reached ${protocol} ${describeEndpoint(located.value)} (${reached})`;
    if (!own) {
      return {
        direction,
        reason: 'Succeeded',
        message: `${first}; sign-in not tested: each mailbox brings its own credentials (credentials.source: Mailbox), tested by Test and Enable`,
      };
    }
    const settings = resolveDirection(named, stand, direction, lookups);
    if (!settings.ok) return { direction, reason: settings.reason, message: `${first}; ${settings.message}` };
    const tester = testerFor(settings.value);
    const signedIn = (note?: string) => {
      const found = [tester.serverDescription?.(), note].filter(Boolean).join('; ');
      return {
        direction,
        reason: 'Succeeded',
        message: `${first}; signed in${username ? ` as ${username}` : ''}${found ? ` (${found})` : ''}`,
      };
    };
    try {
      await tester.test(signal);
      return signedIn();
    } catch (err) {
      // Signed in, but there is no mailbox of that name to open: mailboxes are Test and Enable's.
      if (classifyError(err).reason === 'MailboxNotFound') return signedIn('no mailbox opened: each mailbox is tested by Test and Enable');
      return failed(direction, err, `${first}; sign-in failed: `);
    }
  }
}

function failed(direction: 'incoming' | 'outgoing', err: unknown, before: string): ProfileTestStep {
  const e = classifyError(err);
  return { direction, reason: e.reason, message: `${before}${redact(e.message)}` };
}
