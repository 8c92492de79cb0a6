// Asserts that a promise rejects with a classified error (MailError, CrmError) of a given reason
// whose message, stack and serverText hold none of the secrets, in any encoding a server may echo
// them in. Returns the error for further checks.

import { leakedForms } from './secret-encodings.js';

type Classified = Error & { reason: string; serverText?: string };

export async function expectClassifiedError<E extends Classified>(
  promise: Promise<unknown>,
  type: abstract new (...args: never[]) => E,
  reason: E['reason'],
  secrets: string[],
): Promise<E> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  if (!(caught instanceof type)) {
    throw new Error(
      `expected a ${type.name}(${reason}), got ${caught === undefined ? 'success' : String((caught as Error)?.stack ?? caught)}`,
    );
  }
  if (caught.reason !== reason) throw new Error(`expected reason ${reason}, got ${caught.reason}: ${caught.message}`);
  const leaks = leakedForms([caught.message, caught.stack ?? '', caught.serverText ?? ''].join('\n'), secrets);
  if (leaks.length)
    throw new Error(`the error contains a secret (${leaks.join(', ')}): ${caught.message}; server text: ${caught.serverText}`);
  return caught;
}
