// The HTTP layer under ews-javascript-api, one instance per EwsAdapter.
//
// The library's default is one process-wide XHR (@ewsjs/xhr) configured globally; with many
// mailboxes, each with its own credentials and trusted CA, nothing may be global. Each EwsAdapter
// gives its ExchangeService (and AutodiscoverService) its own EwsTransport: requests go out
// through undici with the profile's CA (verification always on), NTLM handshakes are done here on
// a dedicated connection, and nothing is shared between adapters but a credential-free pool.
//
// The library turns a failed request into a SoapFaultDetails that keeps only a message, losing
// the socket or TLS error code that tells "connection refused" from "untrusted certificate". The
// transport therefore records that error in the current EwsCall (an AsyncLocalStorage context the
// adapter opens around each library call) for classification afterwards.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { IXHRApi, IXHROptions } from 'ews-javascript-api';
import { Client, fetch } from 'undici';
import { parseRetryAfter } from '../net/error-facts.js';
import { ntlmMessages, splitNtlmUser } from './ews-ntlm.js';
import { deadlineSignal, httpDispatcher, tlsConnectOptions } from '../net/http.js';

/** What one library call left behind for error classification. */
export interface EwsCall {
  /** The caller's signal, so that aborting also cancels the HTTP request in flight. */
  signal?: AbortSignal;
  /** The network, TLS or timeout error of the request that failed, if it failed below HTTP. */
  transportError?: unknown;
  /** Status of the last failed HTTP answer: the library loses it when the body is not SOAP. */
  httpStatus?: number;
  /** Retry-After of the last failed HTTP answer (503, 429), which the library does not keep. */
  retryAfterMs?: number;
}

const currentCall = new AsyncLocalStorage<EwsCall>();

/** Runs `fn` (library calls) so that the transport can record into `call`. */
export function withEwsCall<T>(call: EwsCall, fn: () => Promise<T>): Promise<T> {
  return currentCall.run(call, fn);
}

export interface EwsTransportOptions {
  /** Extra trusted CA (PEM). */
  ca?: string;
  timeoutMs?: number;
  /** Authenticate every request with NTLM as this account (`DOMAIN\user` or a UPN). */
  ntlm?: { username: string; password: string };
}

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** What IXHRApi promises: an XMLHttpRequest-like object (a DOM type this project does not load). */
type XhrResponse = Awaited<ReturnType<IXHRApi['xhr']>>;

/** Workstation name sent in NTLM messages; Exchange only logs it. */
const NTLM_WORKSTATION = 'MAILSYNC';

/** Headers that belong to one hop: undici manages them itself and refuses some. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'host', 'content-length', 'accept-encoding']);

export class EwsTransport implements IXHRApi {
  readonly apiName = 'mailsync-undici';

  constructor(private readonly options: EwsTransportOptions) {}

  async xhr(request: IXHROptions): Promise<XhrResponse> {
    const call = currentCall.getStore();
    const signal = deadlineSignal(this.options.timeoutMs, call?.signal);
    let raw: RawResponse;
    try {
      raw = this.options.ntlm ? await this.sendWithNtlm(request, this.options.ntlm, signal) : await this.send(request, signal);
    } catch (err) {
      if (call) call.transportError = err;
      // The library keeps only `message`; keep it free of anything from the request.
      throw xhrResponse({ status: 0, headers: {}, body: '' }, 'the request failed before an HTTP answer');
    }
    // The library treats anything but 200 as a failure and reads SOAP faults from 500 answers.
    if (raw.status === 200) return xhrResponse(raw);
    if (call) {
      call.httpStatus = raw.status;
      const retryAfter = raw.headers['retry-after'];
      if (retryAfter) call.retryAfterMs = parseRetryAfter(retryAfter);
    }
    // A 500 without a SOAP envelope (a proxy's error page, an empty body) makes the library throw
    // inside a promise callback: an unhandled rejection, and a call that never settles. It gets a
    // status it does not parse instead; the real one is in the EwsCall.
    if (raw.status === 500 && !/<(?:[\w-]+:)?Envelope[\s>]/.test(raw.body)) {
      throw xhrResponse({ status: 0, headers: raw.headers, body: '' }, 'HTTP 500 without a SOAP fault');
    }
    throw xhrResponse(raw);
  }

  xhrStream(): Promise<XhrResponse> {
    // Streaming notifications are not used: sync polls SyncFolderItems.
    return Promise.reject(new Error('EWS streaming notifications are not supported by this transport'));
  }

  disconnect(): void {}

  private async send(request: IXHROptions, signal: AbortSignal): Promise<RawResponse> {
    const response = await fetch(request.url, {
      method: request.type ?? 'POST',
      headers: requestHeaders(request),
      body: request.data,
      // Autodiscover redirects are the library's business, and credentials must not follow them blindly.
      redirect: 'manual',
      dispatcher: httpDispatcher(this.options.ca),
      signal,
    });
    const headers: Record<string, string> = {};
    response.headers.forEach((value, name) => (headers[name] = value));
    return { status: response.status, headers, body: await response.text() };
  }

  /**
   * NTLM authenticates a connection, not a request: negotiate and authenticate must travel on the
   * same socket, with nothing in between. Each request gets its own single-connection client,
   * closed afterwards, as @ewsjs/xhr's NtlmProvider does.
   */
  private async sendWithNtlm(
    request: IXHROptions,
    account: { username: string; password: string },
    signal: AbortSignal,
  ): Promise<RawResponse> {
    const ntlm = await ntlmMessages();
    const url = new URL(request.url);
    const { domain, user } = splitNtlmUser(account.username);
    const client = new Client(url.origin, { connect: tlsConnectOptions(this.options.ca), pipelining: 1 });
    try {
      const path = `${url.pathname}${url.search}`;
      const method = (request.type ?? 'POST') as 'POST' | 'GET';
      const headers = requestHeaders(request);
      const negotiate = await client.request({
        path,
        method,
        headers: { ...headers, authorization: ntlm.createType1Message(NTLM_WORKSTATION, domain) },
        body: '',
        signal,
      });
      await negotiate.body.text();
      const challenge = ntlmChallenge(negotiate.headers['www-authenticate']);
      if (negotiate.statusCode !== 401 || !challenge) {
        // No NTLM challenge: the server does not offer NTLM here (a 401 is then AuthenticationFailed).
        return { status: negotiate.statusCode, headers: flatten(negotiate.headers), body: '' };
      }
      const type3 = ntlm.createType3Message(ntlm.decodeType2Message(challenge), user, account.password, NTLM_WORKSTATION, domain);
      const response = await client.request({
        path,
        method,
        headers: { ...headers, authorization: type3 },
        body: request.data ?? '',
        signal,
      });
      return { status: response.statusCode, headers: flatten(response.headers), body: await response.body.text() };
    } finally {
      await client.destroy();
    }
  }
}

function requestHeaders(request: IXHROptions): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries((request.headers ?? {}) as Record<string, unknown>)) {
    if (value !== undefined && value !== null && !HOP_BY_HOP.has(name.toLowerCase())) headers[name] = String(value);
  }
  return headers;
}

/** The NTLM token of a `WWW-Authenticate` answer (there may be several schemes, in one header or many). */
function ntlmChallenge(header: string | string[] | undefined): string | undefined {
  for (const value of [header ?? []].flat()) {
    const match = /(?:^|,\s*)NTLM ([A-Za-z0-9+/=]+)/.exec(value);
    if (match) return `NTLM ${match[1]}`;
  }
  return undefined;
}

function flatten(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) out[name] = [value].flat().join(', ');
  return out;
}

/** The XMLHttpRequest-like object ews-javascript-api reads (the shape @ewsjs/xhr produces). */
function xhrResponse(raw: RawResponse, message?: string): XhrResponse {
  const response = {
    status: raw.status,
    statusText: message ?? '',
    responseText: raw.body,
    headers: raw.headers,
    ...(message ? { message } : {}),
    getAllResponseHeaders: () =>
      Object.entries(raw.headers)
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join(''),
    getResponseHeader: (name: string) => raw.headers[name.toLowerCase()] ?? null,
  };
  return response as unknown as XhrResponse;
}
