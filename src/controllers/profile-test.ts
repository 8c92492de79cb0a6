// A profile's own connection test, as Dynamics' "Test Connection" on an email server profile: on a
// test request (the mailsync.dev/test-requested-at annotation on the profile), with or without
// mailboxes, each server of the profile is reached, TLS checked as configured, and, where the
// profile holds its own credentials, signed in to. The result goes to status.connectionTest and an
// Event. The mail side plugs in through ProfileTesting (domain/testing-ports.ts), so this file knows nothing of IMAP or EWS.

import type { EmailServerProfile, ProfileStatus } from '../api/types.js';
import { TEST_REQUESTED_AT } from '../api/types.js';
import type { SecretSource } from '../domain/secret-source.js';
import type { ProfileTesting } from '../domain/testing-ports.js';

export type ConnectionTestStatus = NonNullable<ProfileStatus['connectionTest']>;

/**
 * Runs the profile's test when a request is not answered yet. Returns the status to write and the
 * Event to record, or undefined when there is nothing to do.
 */
export async function answerTestRequest(
  profile: EmailServerProfile,
  tester: ProfileTesting | undefined,
  lookups: SecretSource,
): Promise<{ status: ConnectionTestStatus; event: { type: 'Normal' | 'Warning'; reason: string; message: string } } | undefined> {
  const request = profile.metadata.annotations?.[TEST_REQUESTED_AT];
  if (!tester || request === undefined || request === profile.status?.connectionTest?.request) return undefined;
  const steps = await tester.testProfile(profile, lookups);
  const ok = steps.every((s) => s.reason === 'Succeeded' || s.reason === 'NotRun');
  const summary = steps.map((s) => `${s.direction}: ${s.message}`).join('; ') || 'no server to test';
  return {
    status: {
      request,
      time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      result: ok ? 'Succeeded' : 'Failed',
      directions: steps as ConnectionTestStatus['directions'],
    },
    event: ok
      ? { type: 'Normal', reason: 'ConnectionTestSucceeded', message: summary }
      : { type: 'Warning', reason: 'ConnectionTestFailed', message: summary },
  };
}
