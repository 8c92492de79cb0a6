// Reading Kubernetes API errors from @kubernetes/client-node without caring which call threw them.

export function statusCode(err: unknown): number | undefined {
  const e = err as { code?: unknown; statusCode?: unknown; response?: { statusCode?: number } };
  if (typeof e?.code === 'number') return e.code;
  if (typeof e?.statusCode === 'number') return e.statusCode;
  return e?.response?.statusCode;
}

export const isNotFound = (err: unknown): boolean => statusCode(err) === 404;
export const isConflict = (err: unknown): boolean => statusCode(err) === 409;
export const isGone = (err: unknown): boolean => statusCode(err) === 410;

/**
 * The server's message for an API error (the Status object's message), or the error's own.
 * client-node's ApiException message is a dump of code, body and headers; this is the one line
 * a person needs.
 */
export function apiMessage(err: unknown): string {
  const message = apiStatus(err)?.message;
  if (message) return message;
  return err instanceof Error ? err.message : String(err);
}

/** The Status object an API error carries (client-node keeps it as text, our raw client parsed). */
export interface ApiStatus {
  message?: string;
  reason?: string;
  details?: { name?: string; group?: string; kind?: string };
}

export function apiStatus(err: unknown): ApiStatus | undefined {
  const body = (err as { body?: unknown })?.body;
  if (typeof body === 'string') {
    try {
      const parsed = JSON.parse(body) as unknown;
      return parsed && typeof parsed === 'object' ? (parsed as ApiStatus) : undefined;
    } catch {
      return undefined; // not JSON
    }
  }
  return body && typeof body === 'object' ? (body as ApiStatus) : undefined;
}

/** What a request tried to do, for messages about refusals. */
export interface Attempt {
  verb: string;
  resource: string;
  group?: string;
  subresource?: string;
  namespace?: string;
}

export interface Forbidden {
  /** One line: the admission policy's own words, or who may not do what, where. */
  message: string;
  /** True when an admission policy (not RBAC) refused: its message already says what is needed. */
  byPolicy: boolean;
}

/**
 * For a 403, one line a person can act on instead of the Status dump. An admission policy's denial
 * is its message (written for people); an RBAC refusal names the user, the verb, the resource (from
 * the Status details, the attempt filling gaps) and the namespace.
 */
export function forbidden(err: unknown, attempt: Attempt): Forbidden | undefined {
  if (statusCode(err) !== 403) return undefined;
  const status = apiStatus(err);
  const text = status?.message ?? '';
  const policy = /denied (?:the )?request: (.*)$/s.exec(text);
  if (policy) return { message: policy[1].trim(), byPolicy: true };
  const user = /User "([^"]*)"/.exec(text)?.[1];
  const resource = (status?.details?.kind ?? attempt.resource) + (attempt.subresource ? `/${attempt.subresource}` : '');
  const group = status?.details?.group ?? attempt.group;
  const where = attempt.namespace ? ` in namespace "${attempt.namespace}"` : ' cluster-wide';
  return {
    message: `forbidden: ${user ? `user "${user}"` : 'you'} may not ${attempt.verb} ${resource}${group ? ` (API group ${group})` : ''}${where}`,
    byPolicy: false,
  };
}

/** A one-line description of any error for logs: the API status code and message when there is one. */
export function describeError(err: unknown): string {
  const code = statusCode(err);
  const body = (err as { body?: unknown })?.body;
  if (code !== undefined && body !== undefined) return `${apiMessage(err)} (HTTP ${code})`;
  return err instanceof Error ? err.message : String(err);
}
