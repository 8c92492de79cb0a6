// The one redactor: every text the operator writes where people who cannot read Secrets may see it
// (log lines, Event messages, condition messages, failure reasons written to the CRM) goes through
// `redact`.
//
// It is the second of two layers. The first is that messages are built from our own words and
// protocol codes (`protocolCode` checks that a code is an identifier, not free text); a server's
// own words go only to debug logs, through `safeServerText`. Redaction then catches what still
// slips through: a secret value in a code, a host name or a library message.
//
// Servers echo credentials transformed: an IMAP server quotes the LOGIN arguments, a JSON body
// escapes `<` as \u003c, an OAuth error carries the form-encoded request, SASL carries base64. So
// each secret is registered with every form it may take (`secretForms`), computed once at
// registration, and a single pass over the text finds any of them (`FormMatcher`): with thousands
// of mailboxes, checking every text against every secret one by one is measurable CPU.

export const REDACTED = '[REDACTED]';

/** Secrets shorter than this cannot be cut out of text without shredding ordinary words. */
export const MIN_SECRET_LENGTH = 4;

/** Base64 fragments shorter than this would match ordinary text by chance. */
const MIN_FRAGMENT_LENGTH = 6;

/** Characters of a form used as its index key; every form is at least this long. */
const KEY_LENGTH = 3;

/**
 * Every form of `secret` a server or library may echo: raw, IMAP quoted-string, JSON string (with
 * and without \uXXXX escapes, upper- and lower-case hex, as JavaScript, Python, Go and .NET encoders
 * write them), URL- and form-encoded, HTML and XML escaped, and base64 (also as a fragment of a
 * longer base64 text, at any byte offset).
 */
export function secretForms(secret: string): string[] {
  const forms = new Set<string>([
    secret,
    secret.replace(/["\\]/g, '\\$&'),
    ...jsonForms(secret),
    ...urlForms(secret),
    ...markupForms(secret),
    ...base64Forms(Buffer.from(secret)),
  ]);
  return [...forms].filter((f) => f.length >= KEY_LENGTH);
}

/** base64 of the SASL PLAIN (with and without authorization id) and XOAUTH2 blobs of a login. */
export function saslForms(secret: string, username: string): string[] {
  return [`\0${username}\0${secret}`, `${username}\0${username}\0${secret}`, `user=${username}\x01auth=Bearer ${secret}\x01\x01`].flatMap(
    (blob) => {
      const b64 = Buffer.from(blob).toString('base64');
      return [b64, b64.replace(/=+$/, '')];
    },
  );
}

const hex4 = (code: number, upper: boolean): string => {
  const h = code.toString(16).padStart(4, '0');
  return `\\u${upper ? h.toUpperCase() : h}`;
};

/** A JSON string body (without its quotes) that writes `escaped` characters as \uXXXX. */
function jsonWith(secret: string, escaped: (code: number) => boolean, upper: boolean): string {
  let out = '';
  for (let i = 0; i < secret.length; i++) {
    const code = secret.charCodeAt(i);
    if (escaped(code)) out += hex4(code, upper);
    else if (code === 0x22 || code === 0x5c) out += `\\${secret[i]}`;
    else out += code < 0x20 ? JSON.stringify(secret[i]).slice(1, -1) : secret[i];
  }
  return out;
}

const nonAscii = (c: number): boolean => c > 0x7e;
const HTML_SENSITIVE = new Set(['<', '>', '&', "'"].map((c) => c.charCodeAt(0)));
/** .NET's default JavaScriptEncoder also escapes `+`, the backtick and the double quote. */
const DOTNET_SENSITIVE = new Set([...HTML_SENSITIVE, ...['+', '`', '"'].map((c) => c.charCodeAt(0))]);

function jsonForms(secret: string): string[] {
  const forms = [JSON.stringify(secret).slice(1, -1)];
  for (const upper of [false, true]) {
    forms.push(
      jsonWith(secret, nonAscii, upper), // Python's ensure_ascii
      jsonWith(secret, (c) => HTML_SENSITIVE.has(c) && c !== 0x27, upper), // Go: <, >, &
      jsonWith(secret, (c) => nonAscii(c) || HTML_SENSITIVE.has(c), upper),
      jsonWith(secret, (c) => nonAscii(c) || DOTNET_SENSITIVE.has(c), upper), // .NET
    );
  }
  return forms;
}

function urlForms(secret: string): string[] {
  let component: string;
  let uri: string;
  try {
    component = encodeURIComponent(secret);
    uri = encodeURI(secret);
  } catch {
    return []; // a lone surrogate cannot be URL-encoded, so no request carried it URL-encoded
  }
  const form = new URLSearchParams([['', secret]]).toString().slice(1);
  const upper = [component, uri, form, component.replace(/%20/g, '+')];
  return [...upper, ...upper.map((f) => f.replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase()))];
}

function markupForms(secret: string): string[] {
  const escape = (map: Record<string, string>) => secret.replace(/[&<>"']/g, (c) => map[c] ?? c);
  return [
    escape({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }), // HTML
    escape({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' }), // XML attribute
    escape({ '&': '&amp;', '<': '&lt;', '>': '&gt;' }), // XML or HTML text
  ];
}

/**
 * base64 of the bytes, padded and not, and the part of the encoding that is the same wherever the
 * bytes sit in a longer text (for each of the three byte offsets modulo 3, the characters that
 * depend on these bytes alone): so the secret is found inside any base64 blob, a SASL PLAIN
 * response with an unknown username included, whatever comes before it.
 */
function base64Forms(bytes: Buffer): string[] {
  const full = bytes.toString('base64');
  const forms = [full, full.replace(/=+$/, '')];
  // With `offset` bytes before it, the secret's first byte shares a character with them unless
  // the offset is 0; the last character is shared with what follows unless the bytes end a group.
  const skip = [0, 2, 3];
  for (let offset = 0; offset < 3; offset++) {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes])
      .toString('base64')
      .replace(/=+$/, '');
    const end = (offset + bytes.length) % 3 === 0 ? encoded.length : encoded.length - 1;
    const fragment = encoded.slice(skip[offset], end);
    if (fragment.length >= MIN_FRAGMENT_LENGTH) forms.push(fragment, fragment.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  return forms;
}

/**
 * A node of FormMatcher's index: the forms that share the first 3 × depth code units. Up to
 * SPLIT_AT forms sit in a list; beyond that, those long enough move down into children keyed by
 * their next three code units (a burst trie), so a thousand passwords that begin alike cost a few
 * map lookups, not a thousand comparisons.
 */
interface IndexNode {
  forms: string[];
  children?: Map<number, IndexNode>;
}

const SPLIT_AT = 16;

/**
 * Finds many literal strings in one pass: each position of the text costs a map lookup on its
 * next three UTF-16 code units (and a few more only where forms share longer prefixes), and adding
 * a secret never rebuilds anything. At a position the longest form wins, so a secret that contains
 * another is cut whole.
 */
export class FormMatcher {
  private readonly root = new Map<number, IndexNode>();
  private readonly known = new Set<string>();

  add(forms: Iterable<string>): void {
    for (const form of forms) {
      if (form.length < KEY_LENGTH || this.known.has(form)) continue;
      this.known.add(form);
      let node = this.root.get(keyAt(form, 0));
      if (!node) this.root.set(keyAt(form, 0), (node = { forms: [] }));
      insert(node, form, 1);
    }
  }

  get size(): number {
    return this.known.size;
  }

  /** The longest form that starts at `i` in `text`, if any. */
  matchAt(text: string, i: number): string | undefined {
    let node = this.root.get(keyAt(text, i));
    let best: string | undefined;
    for (let depth = 1; node; depth++) {
      for (const form of node.forms) {
        if ((best === undefined || form.length > best.length) && text.startsWith(form, i)) best = form;
      }
      const next = i + depth * KEY_LENGTH;
      node = node.children && next + KEY_LENGTH <= text.length ? node.children.get(keyAt(text, next)) : undefined;
    }
    return best;
  }

  /** `text` with every form found replaced by REDACTED. */
  cut(text: string): string {
    return cutForms(text, [this]);
  }
}

/** Adds `form` under `node`, which holds forms sharing their first `depth` × 3 code units. */
function insert(node: IndexNode, form: string, depth: number): void {
  const deeper = (f: string) => f.length >= (depth + 1) * KEY_LENGTH;
  if (node.children && deeper(form)) {
    const key = keyAt(form, depth * KEY_LENGTH);
    let child = node.children.get(key);
    if (!child) node.children.set(key, (child = { forms: [] }));
    insert(child, form, depth + 1);
    return;
  }
  node.forms.push(form);
  if (!node.children && node.forms.length > SPLIT_AT) {
    node.children = new Map();
    const all = node.forms;
    node.forms = [];
    for (const f of all) insert(node, f, depth);
  }
}

/** `text` with every form any of `matchers` knows replaced, the longest at each position. */
function cutForms(text: string, matchers: readonly FormMatcher[]): string {
  const active = matchers.filter((m) => m.size > 0);
  if (active.length === 0 || text.length < KEY_LENGTH) return text;
  let out = '';
  let copied = 0;
  for (let i = 0; i + KEY_LENGTH <= text.length;) {
    let hit: string | undefined;
    for (const m of active) {
      const found = m.matchAt(text, i);
      if (found !== undefined && (hit === undefined || found.length > hit.length)) hit = found;
    }
    if (hit === undefined) {
      i++;
      continue;
    }
    out += text.slice(copied, i) + REDACTED;
    i += hit.length;
    copied = i;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/** Three UTF-16 code units as one exact number (48 bits), so the index needs no substrings. */
const keyAt = (s: string, i: number): number => s.charCodeAt(i) * 0x1_0000_0000 + s.charCodeAt(i + 1) * 0x1_0000 + s.charCodeAt(i + 2);

/** The process-wide registry: every value read from a Secret, in every form. */
const registry = new FormMatcher();
const registered = new Set<string>();
const registeredLogins = new Set<string>();

/**
 * Registers a secret value (password, token, client secret) read from a Secret. `username`, when
 * the value is a password or token of a mail login, adds the SASL blobs that carry both.
 * Registering again is cheap: each value (and value with username) is encoded once.
 */
export function registerSecret(value: string | undefined | null, opts: { username?: string } = {}): void {
  if (!value || value.length < MIN_SECRET_LENGTH) return;
  if (!registered.has(value)) {
    registered.add(value);
    registry.add(secretForms(value));
  }
  const login = opts.username === undefined ? undefined : `${opts.username}\0${value}`;
  if (login !== undefined && !registeredLogins.has(login)) {
    registeredLogins.add(login);
    registry.add(saslForms(value, opts.username!));
  }
}

export function registerSecrets(values: Iterable<string | undefined | null>, opts: { username?: string } = {}): void {
  for (const v of values) registerSecret(v, opts);
}

/** Names of values that are credentials, in `key=value`, `"key": "value"` and `key: value` text. */
const KEYS = 'password|passwd|pass|pwd|access_?token|refresh_?token|id_?token|client_?secret|secret|token|api_?key';

/**
 * Whether an unquoted word after "token:" or "Bearer" looks like a credential rather than a word
 * of a sentence ("token: the ..."): long enough, and with a digit or a symbol a word does not have,
 * or long mixed-case (base64).
 */
const looksLikeCredential = (v: string): boolean =>
  v.length >= 8 && (/[0-9+/=_~!@#$%^&*?\\]/.test(v) || (v.length >= 16 && /[a-z]/.test(v) && /[A-Z]/.test(v)));
const credentialOr = (prefix: string, value: string): string => (looksLikeCredential(value) ? `${prefix}${REDACTED}` : `${prefix}${value}`);

/** Every SHAPE_RULES pattern needs one of these words. */
const SHAPE_WORDS = new RegExp(`${KEYS}|Bearer|Basic|Negotiate|NTLM|PASS|AUTH`, 'i');

/** A value already cut (by the registry or an earlier rule) is not cut again. */
const NOT_DONE = '(?!\\[REDACTED\\])';

/** Credentials we were never told of, recognisable by their shape. */
const SHAPE_RULES: ReadonlyArray<[RegExp, (...groups: string[]) => string]> = [
  // Quoted values ("password": "...", token='...'): a quoted value is meant as a value, whatever it is.
  [
    new RegExp(`\\b(${KEYS})(["']?\\s*[:=]\\s*)(["'])${NOT_DONE}((?:\\\\.|(?!\\3)[^\\\\])+)\\3`, 'gi'),
    (_m, key, sep, q) => `${key}${sep}${q}${REDACTED}${q}`,
  ],
  // key=value and key:value without spaces: query strings, form bodies, logfmt.
  [new RegExp(`\\b(${KEYS})([:=])${NOT_DONE}([^\\s"',;&}]+)`, 'gi'), (_m, key, sep) => `${key}${sep}${REDACTED}`],
  // "token: abc" in prose: only when the word looks like a credential ("token: the" stays).
  [
    new RegExp(`\\b(${KEYS})(["']?\\s*[:=]\\s+|\\s+[:=]\\s*)${NOT_DONE}([^\\s"',;}]+)`, 'gi'),
    (_m, key, sep, value) => credentialOr(`${key}${sep}`, value),
  ],
  [
    new RegExp(`\\b(Authorization:\\s*(?:Bearer|Basic|Negotiate|NTLM)\\s+)${NOT_DONE}[^\\s"',;]+`, 'gi'),
    (_m, prefix) => `${prefix}${REDACTED}`,
  ],
  [/\b((?:Bearer|Basic|Negotiate|NTLM)\s+)([A-Za-z0-9._~+/-]+=*)/g, (_m, prefix, value) => credentialOr(prefix, value)],
  // A decoded XOAUTH2 blob, a POP3 PASS command, a SASL initial response.
  [new RegExp(`\\b(auth=Bearer)\\s*${NOT_DONE}[^\\s\\x01"']+`, 'gi'), (_m, prefix) => `${prefix} ${REDACTED}`],
  [new RegExp(`\\b(PASS\\s+)(?!\\[)\\S+`, 'g'), (_m, prefix) => `${prefix}${REDACTED}`],
  [/\b(AUTH(?:ENTICATE)?\s+[A-Z0-9-]+\s+)(\S+)/g, (_m, prefix, value) => credentialOr(prefix, value)],
];

/**
 * `text` without any registered secret (in any of its forms), without the extra `secrets` given
 * (values not registered, such as an access token fetched a moment ago), and without anything
 * shaped like a credential. Ordinary words, host names and GUIDs stay readable.
 */
export function redact(text: string, secrets: readonly string[] = []): string {
  const matchers = [registry];
  const extra = secrets.filter((s) => s && s.length >= MIN_SECRET_LENGTH && !registered.has(s));
  if (extra.length) {
    const once = new FormMatcher();
    for (const s of extra) once.add(secretForms(s));
    matchers.push(once);
  }
  let out = cutForms(text, matchers);
  if (!SHAPE_WORDS.test(out)) return out; // most texts name no credential at all: one test, not eight
  for (const [pattern, replace] of SHAPE_RULES) out = out.replace(pattern, replace as (substring: string, ...args: string[]) => string);
  return out;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A server's own words, for debug logs only (never status, Events or errors): control characters
 * gone (they could forge log lines), redacted, long base64 and JWT-shaped runs gone too (a SASL
 * blob or a token we were not told of; a run of letters alone is a name such as
 * SubmissionQuotaExceededException, and GUIDs stay), and bounded. Nothing when a secret is too
 * short to cut out safely.
 */
export function safeServerText(text: string | undefined, secrets: readonly string[] = [], max = 1000): string | undefined {
  if (!text) return undefined;
  if (secrets.some((s) => s.length > 0 && s.length < MIN_SECRET_LENGTH)) return undefined;
  // Redacted before and after the control characters go: a secret may hold one, and removing
  // them may join what they separated.
  const clean = redact(
    redact(text, secrets)
      .replace(/[\r\n\t]+/g, ' ')
      .replace(/[\p{Cc}\p{Cf}]/gu, ''),
    secrets,
  )
    .replace(/[A-Za-z0-9+/_-]{24,}={0,2}(?:\.[A-Za-z0-9_-]+){0,2}/g, (run) => (/[0-9+/]/.test(run) && !GUID.test(run) ? REDACTED : run))
    .trim();
  if (!clean) return undefined;
  return clean.length > max ? `${clean.slice(0, max - 3)}...` : clean;
}

const CODE = /^(?:[A-Za-z][A-Za-z0-9_.-]*|\d{1,10}|0x[0-9A-Fa-f]{1,16})(?:\/[A-Za-z][A-Za-z0-9_.-]*){0,3}$/;

/**
 * `value` if it is shaped like a protocol code (an IMAP or POP3 response code, an HTTP service's
 * error code, an OAuth `error`, a Dataverse 0x code): an identifier, digits or hex, at most 64
 * characters. Anything else is a server's free text and must not be shown as a code.
 */
export function protocolCode(value: unknown): string | undefined {
  return typeof value === 'string' && value.length <= 64 && CODE.test(value) ? value : undefined;
}
