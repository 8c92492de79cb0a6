// The forms in which a server may echo a credential back, written out here independently of
// src/util/redact.ts: the redactor's tests, the echoing fixture servers and the suite-wide secret
// scan use this second opinion, so a form the redactor forgets is caught rather than forgotten twice.

/** Passwords of the kind users really have: spaces, quotes, backslashes, `&<>+%/`, letters beyond ASCII. */
export const AWKWARD_PASSWORDS = ['pa ss"wo\\rd&<>+%/ü-ß 9', 'O\'Brien <&> "x" \\ y+z%41/é', 'grüße+straße/100%&amp;'];

const u = (c: string, upper: boolean): string => {
  const h = c.charCodeAt(0).toString(16).padStart(4, '0');
  return `\\u${upper ? h.toUpperCase() : h}`;
};

/** A JSON string body (no quotes), writing the characters `escape` selects as \uXXXX. */
function json(secret: string, escape: RegExp, upper: boolean): string {
  return [...secret]
    .map((c) => {
      if (c.length === 1 && escape.test(c)) return u(c, upper);
      if (c.length === 2 && escape.test(c)) return u(c[0], upper) + u(c[1], upper); // astral: a surrogate pair
      if (c === '"') return '\\"';
      if (c === '\\') return '\\\\';
      return c < ' ' ? JSON.stringify(c).slice(1, -1) : c;
    })
    .join('');
}

const lowerHex = (s: string): string => s.replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase());
const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

/** Every form, by name. `username` adds the SASL blobs (PLAIN, XOAUTH2) that carry it with the secret. */
export function secretEncodings(secret: string, username?: string): Record<string, string> {
  const form = new URLSearchParams({ p: secret }).toString().slice(2);
  const forms: Record<string, string> = {
    raw: secret,
    'IMAP quoted': secret.replace(/[\\"]/g, (c) => `\\${c}`),
    JSON: JSON.stringify(secret).slice(1, -1),
    'JSON \\u non-ASCII (lower hex)': json(secret, /[^\x00-\x7f]/, false),
    'JSON \\u non-ASCII (upper hex)': json(secret, /[^\x00-\x7f]/, true),
    "JSON \\u non-ASCII and <>&' (lower hex)": json(secret, /[^\x00-\x7f]|[<>&']/, false),
    "JSON \\u non-ASCII and <>&' (upper hex)": json(secret, /[^\x00-\x7f]|[<>&']/, true),
    'JSON \\u <>& only (Go)': json(secret, /[<>&]/, false),
    'JSON .NET default encoder': json(secret, /[^\x00-\x7f]|[<>&'+`"]/, true),
    'URL-encoded': encodeURIComponent(secret),
    'URL-encoded (lower hex)': lowerHex(encodeURIComponent(secret)),
    'form-encoded': form,
    'form-encoded (lower hex)': lowerHex(form),
    base64: b64(secret),
    'base64 unpadded': b64(secret).replace(/=+$/, ''),
    HTML: secret.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;'),
    XML: secret.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;'),
  };
  if (username !== undefined) {
    forms['SASL PLAIN'] = b64(`\u0000${username}\u0000${secret}`);
    forms['SASL XOAUTH2'] = b64(`user=${username}\u0001auth=Bearer ${secret}\u0001\u0001`);
  }
  return forms;
}

/** A server's error text that repeats the secret in every form, one after the other. */
export function echoText(secret: string, username?: string): string {
  return Object.entries(secretEncodings(secret, username))
    .map(([name, value]) => `${name}: ${value}`)
    .join(' | ');
}

/** The encodings of any of `secrets` found in `text`, as "<encoding> of <secret>", for assertions. */
export function leakedForms(text: string, secrets: ReadonlyArray<string | { secret: string; username?: string }>): string[] {
  const found: string[] = [];
  for (const s of secrets) {
    const { secret, username } = typeof s === 'string' ? { secret: s, username: undefined } : s;
    for (const [name, value] of Object.entries(secretEncodings(secret, username))) {
      if (text.includes(value)) found.push(`${name} of ${JSON.stringify(secret)}`);
    }
  }
  return found;
}

/**
 * Every string inside a JSON value (a log line, a status), decoded: a secret escaped once more by
 * the JSON around it is found by its own form, not missed because of the extra escaping.
 */
export function stringsIn(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsIn);
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => [k, ...stringsIn(v)]);
  return [];
}

/** A JSON log line as its raw text and each string in it, decoded. */
export function logLineTexts(line: string): string[] {
  try {
    return [line, ...stringsIn(JSON.parse(line))];
  } catch {
    return [line];
  }
}
