// The webhook request signature: `X-Mailsync-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>`,
// computed over "<t>.<raw body>" with the Deployment's signing key (Stripe's scheme). The bearer
// token says who is calling; the signature proves the body was not forged or altered, and the
// timestamp inside the signed text lets the CRM refuse a captured request replayed later.
//
// A CRM implementing the contract verifies with verifyWebhookSignature (or the same few lines in
// its own language, see docs/crm-webhook.openapi.yaml); our fake CRM uses it too.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-mailsync-signature';

/** How far a signature's timestamp may be from the CRM's clock: five minutes, either way. */
export const DEFAULT_SIGNATURE_TOLERANCE_SEC = 300;

export type SignatureFailure = 'missing' | 'malformed' | 'outsideTolerance' | 'mismatch';

export type SignatureCheck = { valid: true; timestamp: number } | { valid: false; failure: SignatureFailure; timestamp?: number };

/** hex HMAC-SHA256 of "<t>.<body>" with `key` (its UTF-8 bytes, as written in the Secret). */
export function computeSignature(timestamp: number, body: string | Uint8Array, key: string): string {
  return createHmac('sha256', key).update(`${timestamp}.`).update(body).digest('hex');
}

/** The header value for a request body sent now (`nowMs`: milliseconds since the epoch). */
export function signWebhookBody(body: string | Uint8Array, key: string, nowMs: number = Date.now()): string {
  const t = Math.floor(nowMs / 1000);
  return `t=${t},v1=${computeSignature(t, body, key)}`;
}

/**
 * Checks a signature header against the raw request body, exactly as received (parse the JSON
 * after verifying, never re-serialise before). Accepts several `v1=` entries, so a sender can sign
 * with an old and a new key during a key rotation. `nowMs` is milliseconds since the epoch.
 */
export function verifyWebhookSignature(
  header: string | undefined | null,
  body: string | Uint8Array,
  key: string,
  toleranceSec: number = DEFAULT_SIGNATURE_TOLERANCE_SEC,
  nowMs: number = Date.now(),
): SignatureCheck {
  if (!header) return { valid: false, failure: 'missing' };
  let timestamp: number | undefined;
  const candidates: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (name === 't' && /^\d{1,12}$/.test(value)) timestamp = Number(value);
    else if (name === 'v1' && /^[0-9a-f]{64}$/i.test(value)) candidates.push(value.toLowerCase());
  }
  if (timestamp === undefined || candidates.length === 0) return { valid: false, failure: 'malformed' };
  // The timestamp is checked before the MAC so a replay is reported as such, but it only counts
  // because it is part of the signed text: changing it breaks the MAC.
  if (Math.abs(nowMs / 1000 - timestamp) > toleranceSec) return { valid: false, failure: 'outsideTolerance', timestamp };
  const expected = Buffer.from(computeSignature(timestamp, body, key), 'hex');
  const matches = candidates.some((c) => timingSafeEqual(Buffer.from(c, 'hex'), expected));
  return matches ? { valid: true, timestamp } : { valid: false, failure: 'mismatch', timestamp };
}
