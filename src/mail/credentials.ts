// Resolves Credentials into what a protocol login needs, and lists the values that must be kept out
// of every error message.
import { classifyError, type ErrorContext } from './errors.js';
import { MailError, type Credentials } from './types.js';

export type ResolvedLogin = { username: string; password: string } | { username: string; accessToken: string };

/** Fetches the OAuth token when needed; a TokenProvider failure is classified like any other. */
export async function resolveLogin(credentials: Credentials, ctx: ErrorContext): Promise<ResolvedLogin> {
  if (credentials.kind === 'password') return { username: credentials.username, password: credentials.password };
  if (credentials.kind === 'anonymous')
    throw new MailError(
      'UnsupportedConfiguration',
      `${ctx.protocol ?? 'This server'}: anonymous access (authentication None) is for an SMTP relay only`,
    );
  try {
    return { username: credentials.username, accessToken: await credentials.token.getToken() };
  } catch (err) {
    throw classifyError(err, { ...ctx, protocol: `${ctx.protocol ?? ''} access token`.trim() });
  }
}

/** The secret values of a login, for redaction. */
export function secretsOf(credentials: Credentials, login?: ResolvedLogin): string[] {
  const secrets: string[] = [];
  if (credentials.kind === 'password') secrets.push(credentials.password);
  if (login && 'accessToken' in login) secrets.push(login.accessToken);
  return secrets;
}
