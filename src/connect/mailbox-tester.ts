// The MailboxTesting implementation: settings from the API objects, testers from the adapters.

import type { EmailServerProfile, Mailbox } from '../api/types.js';
import type { Direction, MailboxTesting, TestOutcome, TestPlan } from '../domain/testing-ports.js';
import type { SecretSource } from '../domain/secret-source.js';
import type { Logger } from '../log/logger.js';
import { classifyError } from '../mail/errors.js';
import { redact } from '../util/redact.js';
import type { DynamicsGate } from './dynamics-gate.js';
import { ConnectProfileTesting } from './profile-tester.js';
import { oauthFingerprint, resolveDirection, revisionOf, type DirectionSettings } from './settings.js';
import { testerFor } from './testers.js';

/** What a passed test proves, for the condition message. */
function successMessage(s: DirectionSettings): string {
  const where = s.endpoint.url ?? `${s.endpoint.host}:${s.endpoint.port}`;
  switch (s.direction) {
    case 'incoming':
      return `logged in to ${s.protocol} server ${where} as ${s.credentials?.username ?? s.address} and opened the inbox`;
    case 'outgoing':
      return s.authentication === 'None'
        ? `reached the ${s.protocol} relay ${where}, which takes mail without sign-in (authentication None; nothing was sent)`
        : `authenticated to ${s.protocol} server ${where} (nothing was sent)`;
    default:
      return `opened the calendar of ${s.address} on ${where}`;
  }
}

export class ConnectMailboxTesting implements MailboxTesting {
  private readonly profiles = new ConnectProfileTesting();

  /**
   * `logger`: where what a server said about a failed test goes, at debug (never to status).
   * `gate`: the coexistence check with Dynamics 365 (dynamics-gate.ts), run after a direction's
   * test passed: a direction is handed over from Dynamics only once the operator can run it, and
   * ProcessedByDynamics means "works here, but Dynamics still processes it" (what a cut-over reads).
   */
  constructor(
    private readonly logger?: Logger,
    private readonly gate?: DynamicsGate,
  ) {}

  /** A profile's own connection test (Test Connection). */
  testProfile(...args: Parameters<ConnectProfileTesting['testProfile']>): ReturnType<ConnectProfileTesting['testProfile']> {
    return this.profiles.testProfile(...args);
  }

  plan(mailbox: Mailbox, profile: EmailServerProfile, directions: Direction[], lookups: SecretSource): TestPlan {
    const fingerprint: unknown[] = [profile.spec.serverType, this.gate?.fingerprint(mailbox)];
    const gate = async (direction: Direction) => (this.gate ? (await this.gate.check(mailbox, [direction])).get(direction) : undefined);
    const steps = directions.map((direction) => {
      const res = resolveDirection({ name: profile.metadata.name, spec: profile.spec }, mailbox.spec, direction, lookups);
      if (!res.ok) {
        fingerprint.push({ direction, problem: res.reason, message: res.message });
        const problem = { reason: res.reason, message: res.message };
        return { direction, problem, run: async (): Promise<TestOutcome> => ({ ok: false, permanent: true, ...problem }) };
      }
      const s = res.value;
      // Everything that decides how we connect, but no secret values: Secret versions stand in.
      // Limits are the profile's and in its revision already; they decide nothing a test checks.
      const { credentials, oauth, maxConnections: _limit, sharedCredentials: _shared, ...rest } = s;
      fingerprint.push({ ...rest, endpoint: { ...s.endpoint, ca: s.endpoint.ca ? revisionOf(s.endpoint.ca) : undefined }, user: credentials?.username, oauth: oauth && oauthFingerprint(oauth) });
      return {
        direction,
        run: async (signal?: AbortSignal): Promise<TestOutcome> => {
          // What the server said it is (EWS: the Exchange version), for the success message.
          let found: string | undefined;
          try {
            const tester = testerFor(s);
            await tester.test(signal);
            found = tester.serverDescription?.();
          } catch (err) {
            const e = classifyError(err);
            if (e.serverText) this.logger?.debug({ namespace: mailbox.metadata.namespace, mailbox: mailbox.metadata.name, direction, reason: e.reason, serverText: e.serverText }, 'test failed; what the server said');
            return { ok: false, reason: e.reason, message: redact(e.message), permanent: e.permanent, retryAfterMs: e.retryAfterMs };
          }
          return (await gate(direction)) ?? { ok: true, reason: 'Succeeded', message: `${successMessage(s)}${found ? ` (${found})` : ''}`, permanent: false };
        },
      };
    });
    return { revision: revisionOf(fingerprint), steps };
  }
}
