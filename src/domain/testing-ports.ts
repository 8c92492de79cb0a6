// What the reconcilers need from the mail and CRM sides, as interfaces (ports): plan the tests of
// a mailbox (resolving settings and a revision of its configuration) and run one; test the CRM
// connector a Deployment describes. The implementations live in src/connect
// (mailbox-tester.ts, crm-tester.ts); tests and the operator inject them.

import type { Deployment, EmailServerProfile, Mailbox } from '../api/types.js';
import type { SecretSource } from './secret-source.js';

export type Direction = 'incoming' | 'outgoing' | 'appointmentsContactsTasks';

export const DIRECTIONS: Direction[] = ['incoming', 'outgoing', 'appointmentsContactsTasks'];

/** The condition that reports each direction of a mailbox. */
export const DIRECTION_CONDITIONS: Record<Direction, string> = {
  incoming: 'IncomingEmailReady',
  outgoing: 'OutgoingEmailReady',
  appointmentsContactsTasks: 'AppointmentsContactsTasksReady',
};

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

export interface ProfileTestStep {
  direction: 'incoming' | 'outgoing';
  /** Succeeded, or a failure reason. */
  reason: string;
  message: string;
}

/** A profile's own connection test (controllers/profile-test.ts runs it on a test request). */
export interface ProfileTesting {
  testProfile(profile: EmailServerProfile, lookups: SecretSource, signal?: AbortSignal): Promise<ProfileTestStep[]>;
}

export interface MailboxTesting extends Partial<ProfileTesting> {
  /** `deployment`: the mailbox's, for what its appointment, contact and task settings ask to test. */
  plan(mailbox: Mailbox, profile: EmailServerProfile, directions: Direction[], lookups: SecretSource, deployment?: Deployment): TestPlan;
}

/** A mailbox test's outcome shape; `reason` is Connected, or CRMUnreachable, CRMAuthenticationFailed, CRMThrottled, CRMError, ... */
export type CrmTestOutcome = TestOutcome;

export interface CrmTesting {
  test(deployment: Deployment, lookups: SecretSource): Promise<CrmTestOutcome>;
}
