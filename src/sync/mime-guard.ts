// A structural check of a raw message before it is parsed. mailparser is lenient: it turns almost
// anything into *something*, and a hostile message (a 1 MB header line, multiparts nested
// hundreds deep) costs it a lot of time. Messages that fail here are reported, not delivered, so
// the CRM never receives a silently mangled email; everything else goes to the parser.

export interface GuardLimits {
  /** Longest header line (bytes). RFC 5322 allows 998; real mail exceeds it, hostile mail by far. */
  maxHeaderLine: number;
  /** Deepest multipart nesting. */
  maxDepth: number;
  /** Most MIME parts in one message. */
  maxParts: number;
}

export const DEFAULT_GUARD_LIMITS: GuardLimits = { maxHeaderLine: 64 * 1024, maxDepth: 20, maxParts: 1000 };

export type GuardResult = { ok: true } | { ok: false; problem: string };

interface Part {
  headers: Map<string, string>;
  body: string;
}

const BASE64 = /^[A-Za-z0-9+/=\r\n\t ]*$/;

/** Splits a part into headers (lower-cased names, unfolded) and body; checks header line lengths. */
function splitPart(text: string, limits: GuardLimits): Part | string {
  let end = text.search(/\r?\n\r?\n/);
  if (end < 0) end = text.length;
  const head = text.slice(0, end);
  const headers = new Map<string, string>();
  let current = '';
  for (const line of head.split(/\r?\n/)) {
    if (line.length > limits.maxHeaderLine) return `a header line is ${line.length} bytes long (limit ${limits.maxHeaderLine})`;
    if (/^[ \t]/.test(line) && current) {
      headers.set(current, `${headers.get(current)} ${line.trim()}`);
      if (headers.get(current)!.length > limits.maxHeaderLine) return `the ${current} header is over ${limits.maxHeaderLine} bytes`;
      continue;
    }
    const i = line.indexOf(':');
    if (i <= 0) continue;
    current = line.slice(0, i).trim().toLowerCase();
    headers.set(current, line.slice(i + 1).trim());
  }
  const m = /\r?\n\r?\n/.exec(text);
  return { headers, body: m ? text.slice(m.index + m[0].length) : '' };
}

function param(value: string | undefined, name: string): string | undefined {
  if (!value) return undefined;
  const m = new RegExp(`(?:^|;)\\s*${name}\\s*=\\s*(?:"([^"]*)"|([^;\\s]+))`, 'i').exec(value);
  return m ? (m[1] ?? m[2]) : undefined;
}

export function guardMessage(raw: Buffer, limits: GuardLimits = DEFAULT_GUARD_LIMITS): GuardResult {
  // latin1 maps bytes 1:1, so lengths are byte counts and nothing is lost before parsing.
  const text = raw.toString('latin1');
  let parts = 0;
  const check = (t: string, depth: number, where: string): string | undefined => {
    if (++parts > limits.maxParts) return `more than ${limits.maxParts} MIME parts`;
    if (depth > limits.maxDepth) return `multiparts nested more than ${limits.maxDepth} deep`;
    const part = splitPart(t, limits);
    if (typeof part === 'string') return `${where}: ${part}`;
    const type = part.headers.get('content-type') ?? 'text/plain';
    const encoding = (part.headers.get('content-transfer-encoding') ?? '').toLowerCase();
    if (/^multipart\//i.test(type)) {
      const boundary = param(type, 'boundary');
      if (!boundary) return `${where}: ${type.split(';')[0]} without a boundary`;
      const delimiter = `--${boundary}`.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      const pieces = part.body.split(new RegExp(`(?:^|\\r?\\n)${delimiter}`, 'g'));
      if (pieces.length < 2) return `${where}: the boundary "${boundary}" never occurs in the body (broken MIME)`;
      // pieces[0] is the preamble; the piece after the closing delimiter starts with "--".
      for (let i = 1; i < pieces.length; i++) {
        const piece = pieces[i];
        if (piece.startsWith('--')) break;
        const problem = check(piece.replace(/^[ \t]*\r?\n/, ''), depth + 1, `${where} part ${i}`);
        if (problem) return problem;
      }
      return undefined;
    }
    if (/^message\/rfc822/i.test(type) && encoding !== 'base64') return check(part.body, depth + 1, `${where} attached message`);
    if (encoding === 'base64' && !BASE64.test(part.body)) return `${where}: the body is declared base64 but is not (invalid encoding)`;
    return undefined;
  };
  const problem = check(text, 0, 'message');
  return problem ? { ok: false, problem } : { ok: true };
}
