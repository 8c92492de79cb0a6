// Asserts that a promise rejects with a classified error (MailError, CrmError) of a given reason
// whose message and stack mention none of the secrets. Returns the error for further checks.

type Classified = Error & { reason: string };

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
    throw new Error(`expected a ${type.name}(${reason}), got ${caught === undefined ? 'success' : String((caught as Error)?.stack ?? caught)}`);
  }
  if (caught.reason !== reason) throw new Error(`expected reason ${reason}, got ${caught.reason}: ${caught.message}`);
  for (const secret of secrets) {
    if (caught.message.includes(secret) || (caught.stack ?? '').includes(secret)) {
      throw new Error(`the error message contains a secret: ${caught.message}`);
    }
  }
  return caught;
}
