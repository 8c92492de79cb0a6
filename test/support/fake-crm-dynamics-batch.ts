// The server side of Dataverse's $batch for the fake (fake-crm-dynamics.ts): reads a
// multipart/mixed request as the OData v4 batch format and Microsoft's "Execute batch operations
// using the Web API" describe it, strictly (boundaries, application/http parts, request lines,
// Content-ID in change sets), and writes the answer in the same format.

export interface BatchRequestPart {
  method: string;
  /** As written in the request line: an absolute URL, a path, or `$<Content-ID>[/…]`. */
  url: string;
  headers: Record<string, string>;
  body: string;
  contentId?: string;
}

export type BatchRequestItem = { kind: 'operation'; op: BatchRequestPart } | { kind: 'changeSet'; ops: BatchRequestPart[] };

export interface BatchAnswer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  contentId?: string;
}

export type BatchAnswerItem = { kind: 'one'; answer: BatchAnswer } | { kind: 'changeSet'; answers: BatchAnswer[] };

const CRLF = '\r\n';
const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  204: 'No Content',
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  405: 'Method Not Allowed',
  412: 'Precondition Failed',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** Reads a $batch request body; throws with a message Dataverse-like enough for a 400. */
export function parseBatchRequest(contentType: string | undefined, body: string): BatchRequestItem[] {
  const boundary = boundaryOf(contentType);
  if (!boundary) throw new Error('The batch request must have Content-Type multipart/mixed with a boundary.');
  return parts(body, boundary).map((p) => {
    const inner = boundaryOf(p.headers['content-type']);
    if (inner) {
      const ops = parts(p.content, inner).map((q) => operation(q, true));
      const ids = new Set<string>();
      for (const op of ops) {
        if (ids.has(op.contentId!)) throw new Error(`Content-ID ${op.contentId} is used twice in one change set.`);
        const ref = /^\$(\d+)/.exec(op.url)?.[1];
        if (ref && !ids.has(ref)) throw new Error(`$${ref} does not name an earlier request of this change set.`);
        ids.add(op.contentId!);
      }
      return { kind: 'changeSet' as const, ops };
    }
    const op = operation(p, false);
    if (op.method !== 'GET' && op.method !== 'POST' && op.method !== 'PATCH' && op.method !== 'DELETE')
      throw new Error(`Unsupported method ${op.method}.`);
    return { kind: 'operation' as const, op };
  });
}

/** Writes the answer to a batch; `boundary` is the answer's. */
export function formatBatchAnswer(items: BatchAnswerItem[], boundary: string): string {
  const out: string[] = [];
  for (const item of items) {
    out.push(`--${boundary}`);
    if (item.kind === 'one') {
      out.push(...response(item.answer));
    } else {
      const cs = `changesetresponse_${boundary.slice(-12)}_${out.length}`;
      out.push(`Content-Type: multipart/mixed; boundary=${cs}`, '');
      for (const a of item.answers) out.push(`--${cs}`, ...response(a));
      out.push(`--${cs}--`);
    }
  }
  out.push(`--${boundary}--`, '');
  return out.join(CRLF);
}

function response(a: BatchAnswer): string[] {
  const lines = ['Content-Type: application/http', 'Content-Transfer-Encoding: binary'];
  if (a.contentId) lines.push(`Content-ID: ${a.contentId}`);
  lines.push('', `HTTP/1.1 ${a.status} ${STATUS_TEXT[a.status] ?? 'Status'}`);
  const headers: Record<string, string> = { 'OData-Version': '4.0', ...a.headers };
  if (a.body !== undefined) headers['Content-Type'] = 'application/json; odata.metadata=minimal';
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  lines.push('', a.body !== undefined ? JSON.stringify(a.body) : '');
  return lines;
}

function boundaryOf(contentType: string | undefined): string | undefined {
  if (!contentType || !/^\s*multipart\/mixed/i.test(contentType)) return undefined;
  return /boundary="?([^";]+)"?/i.exec(contentType)?.[1];
}

interface Part {
  headers: Record<string, string>;
  content: string;
}

function parts(body: string, boundary: string): Part[] {
  const delimiter = `--${boundary}`;
  if (!body.startsWith(delimiter) && !body.includes(`${CRLF}${delimiter}`))
    throw new Error('The batch body has no part with its boundary.');
  const out: Part[] = [];
  let at = body.indexOf(delimiter);
  for (;;) {
    const start = at + delimiter.length;
    if (body.startsWith('--', start)) return out;
    if (!body.startsWith(CRLF, start)) throw new Error('A boundary line must end with CRLF.');
    const next = body.indexOf(`${CRLF}${delimiter}`, start);
    if (next < 0) throw new Error('The batch body has no closing boundary.');
    const raw = body.slice(start + CRLF.length, next);
    const end = raw.indexOf(`${CRLF}${CRLF}`);
    if (end < 0) throw new Error('A batch part has no blank line after its headers.');
    out.push({ headers: headersOf(raw.slice(0, end)), content: raw.slice(end + 4) });
    at = next + CRLF.length;
  }
}

function headersOf(raw: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of raw.split(CRLF)) {
    if (!line) continue;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`A header line has no name: "${line.slice(0, 40)}".`);
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

function operation(p: Part, inChangeSet: boolean): BatchRequestPart {
  if (!/^application\/http\b/i.test(p.headers['content-type'] ?? ''))
    throw new Error('Each batch part must be Content-Type application/http.');
  if ((p.headers['content-transfer-encoding'] ?? '').toLowerCase() !== 'binary')
    throw new Error('Each batch part must be Content-Transfer-Encoding binary.');
  const contentId = p.headers['content-id'];
  if (inChangeSet && !contentId) throw new Error('Each request in a change set needs a Content-ID.');
  const lineEnd = p.content.indexOf(CRLF);
  const requestLine = lineEnd < 0 ? p.content : p.content.slice(0, lineEnd);
  const m = /^([A-Z]+) (\S+) HTTP\/1\.1$/.exec(requestLine);
  if (!m) throw new Error(`Not a request line: "${requestLine.slice(0, 60)}".`);
  const rest = lineEnd < 0 ? '' : p.content.slice(lineEnd + CRLF.length);
  const end = rest.indexOf(`${CRLF}${CRLF}`);
  const headers = headersOf(end < 0 ? rest : rest.slice(0, end));
  return { method: m[1], url: m[2], headers, body: end < 0 ? '' : rest.slice(end + 4), contentId };
}
