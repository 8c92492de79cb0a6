// One HTTP exchange with a CRM: undici's request() over the shared keep-alive pools (one per set of
// trusted CAs, see src/net/http.ts), with a deadline that covers connecting, the answer and its
// body. request() rather than fetch() because the webhook connector is on the hot path of every
// incoming message, and request() costs noticeably less per call.
import { request } from 'undici';
import { httpDispatcher } from '../net/http.js';
import { transportError, type CrmCallContext } from './errors.js';

export interface CrmHttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  headers: Record<string, string>;
  body?: string;
  /** Extra trusted CA (PEM); verification stays on. */
  ca?: string;
  /** Cancels the request early (on top of the context's timeout). */
  signal?: AbortSignal;
}

export interface CrmHttpAnswer {
  status: number;
  /** Lower-case header names. */
  header(name: string): string | undefined;
  /** The body as UTF-8 text (decoded on first use). */
  readonly text: string;
  /** The body as it came (attachments: byte for byte). */
  bytes: Buffer;
}

/** Sends the request and reads the whole answer; anything short of an HTTP answer becomes a CrmError. */
export async function sendCrmRequest(req: CrmHttpRequest, ctx: CrmCallContext): Promise<CrmHttpAnswer> {
  const timeout = AbortSignal.timeout(ctx.timeoutMs);
  const signal = req.signal ? AbortSignal.any([timeout, req.signal]) : timeout;
  try {
    const res = await request(req.url, {
      method: req.method,
      headers: req.headers,
      body: req.body,
      dispatcher: httpDispatcher(req.ca),
      signal,
    });
    const bytes = Buffer.from(await res.body.arrayBuffer());
    const headers = res.headers;
    let text: string | undefined;
    return {
      status: res.statusCode,
      header: (name) => {
        const v = headers[name];
        return Array.isArray(v) ? v[0] : v;
      },
      get text() {
        return (text ??= bytes.toString('utf8'));
      },
      bytes,
    };
  } catch (err) {
    throw transportError(err, ctx, req.signal);
  }
}

/** `url` without its query string (which may hold addresses) or any user:password part, for messages. */
export function withoutQuery(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    const q = url.indexOf('?');
    return q < 0 ? url : url.slice(0, q);
  }
}

/** Parses a JSON answer, or undefined when it is not JSON. */
export function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** `error.code` / `error.message` of a JSON error body (webhook and OData share this shape). */
export function errorBody(text: string): { code?: string; message?: string } {
  return errorFields(parseJson(text));
}

/** `error.code` / `error.message` of a parsed error object (also a webhook batch item's error). */
export function errorFields(value: unknown): { code?: string; message?: string } {
  const body = value as { error?: { code?: unknown; message?: unknown } } | null | undefined;
  const e = body && typeof body === 'object' && body.error && typeof body.error === 'object' ? body.error : undefined;
  return {
    code: e && typeof e.code === 'string' ? e.code : undefined,
    message: e && typeof e.message === 'string' ? e.message : undefined,
  };
}
