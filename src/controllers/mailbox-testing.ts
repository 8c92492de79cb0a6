// What the Mailbox reconciler needs from the mail side, as an interface: plan the tests of a
// mailbox (resolving settings and a revision of its configuration) and run one. The
// implementation lives in src/connect; tests and the operator inject it.

import type { EmailServerProfile, Mailbox } from '../api/types.js';
import type { ProfileTesting } from './profile-test.js';

export type Direction = 'incoming' | 'outgoing' | 'appointmentsContactsTasks';

export interface TestOutcome {
  ok: boolean;
  /** Succeeded, or a FailureReason such as AuthenticationFailed or ServerUnreachable. */
  reason: string;
  message: string;
  permanent: boolean;
  retryAfterMs?: number;
}

export interface TestStep {
  direction: Direction;
  /** A configuration problem found while planning (missing Secret, key, CA); no test runs. */
  problem?: { reason: string; message: string };
  run(signal?: AbortSignal): Promise<TestOutcome>;
}

export interface TestPlan {
  /** Hash of the effective connection configuration, including Secret versions. */
  revision: string;
  steps: TestStep[];
}

export interface SecretSource {
  /** The namespace the names resolve in. */
  namespace?: string;
  secret(name: string): { data: Record<string, string>; resourceVersion: string } | undefined;
  configMap(name: string): { data: Record<string, string>; resourceVersion: string } | undefined;
  /** A token of a ServiceAccount of the namespace for this audience (workload identity federation). */
  serviceAccountToken?(name: string, audience: string): Promise<string>;
  /** Writes one key of a Secret of the namespace (a rotated refresh token). */
  writeSecretKey?(name: string, key: string, value: string): Promise<void>;
}

export interface MailboxTesting extends Partial<ProfileTesting> {
  plan(mailbox: Mailbox, profile: EmailServerProfile, directions: Direction[], lookups: SecretSource): TestPlan;
}
