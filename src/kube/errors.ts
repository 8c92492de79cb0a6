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
  const body = (err as { body?: unknown })?.body;
  if (typeof body === 'string') {
    try {
      const parsed = JSON.parse(body) as { message?: string };
      if (parsed.message) return parsed.message;
    } catch {
      /* not JSON */
    }
  } else if (body && typeof body === 'object' && 'message' in body) {
    return String((body as { message: unknown }).message);
  }
  return err instanceof Error ? err.message : String(err);
}

/** A one-line description of any error for logs: the API status code and message when there is one. */
export function describeError(err: unknown): string {
  const code = statusCode(err);
  const body = (err as { body?: unknown })?.body;
  if (code !== undefined && body !== undefined) return `${apiMessage(err)} (HTTP ${code})`;
  return err instanceof Error ? err.message : String(err);
}
