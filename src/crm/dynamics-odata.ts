// Values as they appear in Dataverse OData URLs and columns: quoted string literals, record ids,
// and Message-IDs in the form Dataverse stores them.
import { createHash } from 'node:crypto';
import { MAX_LENGTH } from './dynamics-values.js';
import { CrmError } from './types.js';

/** An OData string literal: single quotes, with embedded quotes doubled (OData ABNF `SQUOTE-in-string`). */
export function odataString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A record id checked to be a GUID before it goes into a URL path (`emails(<id>)`). */
export function recordId(id: string, what = 'CRM email id'): string {
  if (!GUID.test(id)) throw new CrmError('CRMRejected', `Dynamics 365: ${what} "${id.slice(0, 80)}" is not a GUID`);
  return id.toLowerCase();
}

/**
 * The `messageid` column value for an RFC 5322 Message-ID given without angle brackets: with them,
 * as the header carries it and as server-side synchronization stores it. An id too long for the
 * column (320) is replaced by a stable digest so it still identifies the message.
 */
export function storedMessageId(messageId: string): string {
  const bare = bareMessageId(messageId);
  const stored = `<${bare}>`;
  if (stored.length <= MAX_LENGTH.messageid) return stored;
  return `<sha256.${createHash('sha256').update(bare).digest('hex')}@mailsync.invalid>`;
}

/** A Message-ID without surrounding whitespace and angle brackets. */
export function bareMessageId(messageId: string): string {
  return messageId.trim().replace(/^<|>$/g, '');
}

/** Both forms a Message-ID may be stored in (ours with brackets; others' perhaps without). */
export function messageIdForms(messageId: string): string[] {
  const bare = bareMessageId(messageId);
  return bare ? [storedMessageId(bare), bare] : [];
}

/** Truncates to a column's length. */
export function fit(value: string, max: number): string {
  return value.length <= max ? value : value.slice(0, max);
}
