// The MailboxTesting implementation: settings from the API objects, testers from the adapters.

import type { Deployment, EmailServerProfile, Mailbox } from '../api/types.js';
import type { Direction, MailboxTesting, TestOutcome, TestPlan } from '../domain/testing-ports.js';
import type { SecretSource } from '../domain/secret-source.js';
import { actTestMessage } from '../domain/act-test.js';
import type { Logger } from '../log/logger.js';
import { classifyError } from '../mail/errors.js';
import { redact } from '../util/redact.js';
import type { DynamicsGate } from './dynamics-gate.js';
import { ConnectProfileTesting } from './profile-tester.js';
import { oauthFingerprint, resolveDirection, revisionOf, type DirectionSettings } from './settings.js';
import { testerFor } from './testers.js';
import { actSettings, testAct } from './act.js';
import { ACT_KINDS } from '../act/model.js';

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

/**
 * Test and Enable for appointments, contacts and tasks: what the worker's ACT loop needs, and only
 * for the kinds it synchronizes over this server (no claim of more); the message says what runs.
 */
async function actTested(
  s: DirectionSettings,
  profile: EmailServerProfile,
  mailbox: Mailbox,
  deployment: Deployment | undefined,
  lookups: SecretSource,
  signal?: AbortSignal,
): Promise<string> {
  const kinds = await testAct(profile, mailbox, deployment, lookups, signal);
  const wanted = deployment ? actSettings(deployment, mailbox).kinds : ACT_KINDS;
  return actTestMessage(
    kinds,
    s.address,
    s.endpoint.url ?? s.endpoint.host ?? '',
    wanted.filter((k) => !kinds.includes(k)),
    s.protocol,
  );
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

  plan(mailbox: Mailbox, profile: EmailServerProfile, directions: Direction[], lookups: SecretSource, deployment?: Deployment): TestPlan {
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
      if (direction === 'appointmentsContactsTasks')
        fingerprint.push({
          act: mailbox.spec.act ?? {},
          kinds: deployment?.spec.appointmentsContactsTasks?.kinds ?? {},
          crm: deployment?.spec.crm.type,
        });
      fingerprint.push({
        ...rest,
        endpoint: { ...s.endpoint, ca: s.endpoint.ca ? revisionOf(s.endpoint.ca) : undefined },
        user: credentials?.username,
        oauth: oauth && oauthFingerprint(oauth),
      });
      return {
        direction,
        run: async (signal?: AbortSignal): Promise<TestOutcome> => {
          let message: string;
          try {
            if (direction === 'appointmentsContactsTasks') {
              message = await actTested(s, profile, mailbox, deployment, lookups, signal);
            } else {
              const tester = testerFor(s);
              await tester.test(signal);
              // What the server said it is (EWS: the Exchange version).
              const found = tester.serverDescription?.();
              message = `${successMessage(s)}${found ? ` (${found})` : ''}`;
            }
          } catch (err) {
            const e = classifyError(err);
            if (e.serverText)
              this.logger?.debug(
                {
                  namespace: mailbox.metadata.namespace,
                  mailbox: mailbox.metadata.name,
                  direction,
                  reason: e.reason,
                  serverText: e.serverText,
                },
                'test failed; what the server said',
              );
            return { ok: false, reason: e.reason, message: redact(e.message), permanent: e.permanent, retryAfterMs: e.retryAfterMs };
          }
          // After our own test: the operator can run the direction (a hand-over needs that first).
          return (await gate(direction)) ?? { ok: true, reason: 'Succeeded', message, permanent: false };
        },
      };
    });
    return { revision: revisionOf(fingerprint), steps };
  }
}
