// A process-wide set of secret values (passwords, tokens, client secrets) as read from Secrets.
// Every log line, Event message and status message passes through `redact`, so a secret that
// slips into an error text from a library or a server is replaced before anyone can see it.

const secrets = new Set<string>();
const MIN_LENGTH = 4; // shorter values would redact ordinary words

export function registerSecret(value: string | undefined | null): void {
  if (value && value.length >= MIN_LENGTH) secrets.add(value);
}

export function registerSecrets(values: Iterable<string | undefined | null>): void {
  for (const v of values) registerSecret(v);
}

export const REDACTED = '[REDACTED]';

export function redact(text: string): string {
  let out = text;
  for (const s of secrets) {
    if (out.includes(s)) out = out.split(s).join(REDACTED);
  }
  // Credentials that never passed through a Secret but have a recognisable shape.
  return out
    .replace(/(Authorization:\s*(?:Bearer|Basic)\s+)\S+/gi, `$1${REDACTED}`)
    .replace(/(["']?(?:password|pass|accessToken|access_token|clientSecret|client_secret|token)["']?\s*[:=]\s*["']?)[^"'\s,}]+/gi, `$1${REDACTED}`);
}
