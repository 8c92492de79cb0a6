// Dataverse Web API $batch (OData v4 "multipart/mixed" batch format, as Microsoft's "Execute batch
// operations using the Web API" describes it): many operations in one HTTP request, and change
// sets, which Dataverse runs as one transaction (all succeed or none does). Pure text in, text out:
// building the request body and reading the answer; the HTTP exchange is DataverseClient.batch.
//
//   request:  --batch_X / [Content-Type: multipart/mixed; boundary=changeset_Y / --changeset_Y /
//             application/http part with Content-ID / ... / --changeset_Y--] / application/http
//             part / ... / --batch_X--
//   answer:   --batchresponse_X / one part per request or change set, in order: an application/http
//             response, or for a change set a multipart/mixed of its responses (a change set that
//             failed answers a single error response instead) / --batchresponse_X--
//
// Inside a change set an operation may name an earlier one's result as `$<Content-ID>`, in its URL
// (`PATCH $1`) or in an @odata.bind value ("objectid_email@odata.bind": "$1"). Callers number the
// operations of each change set from 1; Content-IDs must be unique in the whole batch, so they are
// renumbered here, references included.
import { randomUUID } from 'node:crypto';

export interface BatchOperation {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** A path under the API root (`emails(…)`, `emails?$filter=…`) or `$<Content-ID>` of an earlier operation in the same change set. */
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
}

/** One item of a batch: an operation alone, or a change set (one transaction). */
export type BatchItem = BatchOperation | { changeSet: BatchOperation[] };

export interface BatchResponse {
  status: number;
  /** Lower-case names. */
  headers: Record<string, string>;
  /** Parsed JSON, or undefined for an empty or non-JSON body. */
  body: unknown;
}

/**
 * What one item got: its response (an operation), its responses in order (a change set that was
 * committed), or the one error response of a change set that was rolled back. `missing`: the batch
 * stopped before this item (Dataverse stops at the first failure unless asked to continue).
 */
export type BatchResult =
  | { kind: 'one'; response: BatchResponse }
  | { kind: 'committed'; responses: BatchResponse[] }
  | { kind: 'rolledBack'; response: BatchResponse }
  | { kind: 'missing' };

const CRLF = '\r\n';

/** The request body and its Content-Type. `apiPath` is the API root's path, e.g. `/api/data/v9.2`. */
export function buildBatch(apiPath: string, items: BatchItem[]): { contentType: string; body: string } {
  const boundary = `batch_${randomUUID()}`;
  let contentId = 0;
  const out: string[] = [];
  for (const item of items) {
    out.push(`--${boundary}`);
    if ('changeSet' in item) {
      const cs = `changeset_${randomUUID()}`;
      const base = contentId;
      out.push(`Content-Type: multipart/mixed; boundary=${cs}`, '');
      for (const op of item.changeSet) out.push(`--${cs}`, ...operation(apiPath, renumber(op, base), ++contentId));
      out.push(`--${cs}--`);
    } else {
      out.push(...operation(apiPath, item));
    }
  }
  out.push(`--${boundary}--`, '');
  return { contentType: `multipart/mixed; boundary=${boundary}`, body: out.join(CRLF) };
}

/** The operation with its `$<n>` references (n counted from 1 in its change set) moved up by `base`. */
function renumber(op: BatchOperation, base: number): BatchOperation {
  if (base === 0) return op;
  const ref = (v: string) => v.replace(/^\$(\d+)/, (_, n: string) => `$${Number(n) + base}`);
  const body =
    op.body && typeof op.body === 'object'
      ? Object.fromEntries(Object.entries(op.body).map(([k, v]) => [k, typeof v === 'string' && k.endsWith('@odata.bind') ? ref(v) : v]))
      : op.body;
  return { ...op, path: ref(op.path), body };
}

function operation(apiPath: string, op: BatchOperation, contentId?: number): string[] {
  const url = op.path.startsWith('$') ? op.path : `${apiPath}/${op.path}`;
  const lines = ['Content-Type: application/http', 'Content-Transfer-Encoding: binary'];
  if (contentId !== undefined) lines.push(`Content-ID: ${contentId}`);
  lines.push('', `${op.method} ${url} HTTP/1.1`);
  const headers: Record<string, string> = { accept: 'application/json', ...op.headers };
  if (op.body !== undefined) headers['content-type'] = 'application/json; type=entry';
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  lines.push('', op.body !== undefined ? JSON.stringify(op.body) : '');
  return lines;
}

/** Reads the answer to a batch of `count` items; throws when it is not a batch answer. */
export function parseBatchResponse(contentType: string | undefined, text: string, count: number): BatchResult[] {
  const boundary = boundaryOf(contentType);
  if (!boundary) throw new Error('the answer is not multipart/mixed');
  const results: BatchResult[] = multipart(text, boundary).map((part) => {
    const inner = boundaryOf(part.headers['content-type']);
    if (inner) return { kind: 'committed' as const, responses: multipart(part.content, inner).map((p) => httpResponse(p.content)) };
    const response = httpResponse(part.content);
    return { kind: 'one' as const, response };
  });
  if (results.length > count) throw new Error(`the answer has ${results.length} parts for ${count} requests`);
  while (results.length < count) results.push({ kind: 'missing' });
  return results;
}

/** A change set's result as committed or rolled back (an error answered in place of its responses). */
export function changeSetResult(r: BatchResult): BatchResult {
  if (r.kind === 'one')
    return r.response.status >= 400 ? { kind: 'rolledBack', response: r.response } : { kind: 'committed', responses: [r.response] };
  return r;
}

function boundaryOf(contentType: string | undefined): string | undefined {
  if (!contentType || !/^\s*multipart\/mixed/i.test(contentType)) return undefined;
  return /boundary="?([^";]+)"?/i.exec(contentType)?.[1];
}

interface Part {
  headers: Record<string, string>;
  content: string;
}

function multipart(text: string, boundary: string): Part[] {
  const delimiter = `--${boundary}`;
  const parts: Part[] = [];
  let at = text.indexOf(delimiter);
  if (at < 0) throw new Error('no multipart boundary in the answer');
  for (;;) {
    const start = at + delimiter.length;
    if (text.startsWith('--', start)) break; // the closing delimiter
    const next = text.indexOf(`${CRLF}${delimiter}`, start);
    if (next < 0) throw new Error('the multipart answer is cut short');
    parts.push(headersAndContent(text.slice(start, next).replace(/^[ \t]*\r\n/, '')));
    at = next + CRLF.length;
  }
  return parts;
}

function headersAndContent(raw: string): Part {
  const end = raw.indexOf(`${CRLF}${CRLF}`);
  const head = end < 0 ? raw : raw.slice(0, end);
  const headers: Record<string, string> = {};
  for (const line of head.split(CRLF)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { headers, content: end < 0 ? '' : raw.slice(end + 2 * CRLF.length) };
}

function httpResponse(raw: string): BatchResponse {
  const lineEnd = raw.indexOf(CRLF);
  const statusLine = lineEnd < 0 ? raw : raw.slice(0, lineEnd);
  const m = /^HTTP\/1\.1 (\d{3})/.exec(statusLine);
  if (!m) throw new Error(`a batch part is not an HTTP response (${statusLine.slice(0, 40)})`);
  const { headers, content } = headersAndContent(lineEnd < 0 ? '' : raw.slice(lineEnd + CRLF.length));
  let body: unknown;
  const trimmed = content.trim();
  if (trimmed) {
    try {
      body = JSON.parse(trimmed);
    } catch {
      body = undefined;
    }
  }
  return { status: Number(m[1]), headers, body };
}

/** The record id in an OData-EntityId header (`…/emails(<guid>)`). */
export function entityIdOf(r: BatchResponse): string | undefined {
  const header = r.headers['odata-entityid'];
  return header ? /\(([0-9a-fA-F-]{36})\)\s*$/.exec(header)?.[1]?.toLowerCase() : undefined;
}
