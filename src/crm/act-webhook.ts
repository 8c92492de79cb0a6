// The webhook connector's ACT operations (docs/crm-webhook-act.openapi.yaml): the same bearer
// token, signature and error handling as the email operations, under /act/mailboxes/{address}.
// The CRM keeps the links and the cursors (see act-types.ts); every write is idempotent: creates
// on (mailbox, kind, key), link and state writes are replacements, deletes of what is gone succeed.

import type { ActKind, Fields } from '../api/act-fields.js';
import { KIND_PLURAL } from '../api/act-fields.js';
import { parseJson } from './request.js';
import type { ActChangesPage, ActConnector, ActLink, ActMailboxRef, ActMailboxState, ActRecord } from './act-types.js';
import { WebhookConnector } from './webhook.js';

export class WebhookActConnector extends WebhookConnector implements ActConnector {
  /** Series masters carry `recurrence`, exceptions `seriesMasterId` and `originalStart` (the contract's appointment items). */
  readonly actSeries = true;

  private base(mailbox: ActMailboxRef, kind?: ActKind): string {
    return `/act/mailboxes/${encodeURIComponent(mailbox.address.toLowerCase())}${kind ? `/${KIND_PLURAL[kind]}` : ''}`;
  }

  async actChanges(mailbox: ActMailboxRef, kind: ActKind, cursor: string | undefined, limit: number): Promise<ActChangesPage> {
    const path = `${this.base(mailbox, kind)}/changes`;
    const query = new URLSearchParams({ limit: String(Math.max(1, Math.floor(limit))), ...(cursor ? { cursor } : {}) });
    const res = await this.send('GET', `${path}?${query}`);
    this.expect(res, path, [200]);
    const body = parseJson(res.text) as Partial<ActChangesPage> | undefined;
    if (
      !body ||
      !Array.isArray(body.changes) ||
      typeof body.cursor !== 'string' ||
      !body.changes.every((c) => typeof c?.crmId === 'string')
    ) {
      throw this.malformed(path, 'an object with "changes" (each with a string "crmId"), a string "cursor" and a boolean "more"');
    }
    return { changes: body.changes, cursor: body.cursor, more: body.more === true };
  }

  async actLookup(
    mailbox: ActMailboxRef,
    kind: ActKind,
    keys: { crmIds?: string[]; exchangeIds?: string[]; iCalUIds?: string[] },
  ): Promise<ActRecord[]> {
    const path = `${this.base(mailbox, kind)}/lookup`;
    const res = await this.send(
      'POST',
      path,
      JSON.stringify({ crmIds: keys.crmIds ?? [], exchangeIds: keys.exchangeIds ?? [], iCalUIds: keys.iCalUIds ?? [] }),
    );
    this.expect(res, path, [200]);
    const records = (parseJson(res.text) as { records?: unknown } | undefined)?.records;
    if (!Array.isArray(records) || !records.every(isRecord))
      throw this.malformed(path, 'an object with "records", each with a string "crmId" and an object "fields"');
    return records;
  }

  async actCreate(
    mailbox: ActMailboxRef,
    kind: ActKind,
    item: { key: string; fields: Fields; link: Omit<ActLink, 'crmId'>; seriesMasterId?: string; originalStart?: string },
  ): Promise<{ crmId: string; created: boolean; record?: ActRecord }> {
    const path = this.base(mailbox, kind);
    const res = await this.send('POST', path, JSON.stringify({ ...item, owner: mailbox.ownerName }));
    this.expect(res, path, [200, 201]);
    const body = parseJson(res.text) as { crmId?: unknown; record?: unknown } | undefined;
    if (typeof body?.crmId !== 'string' || !body.crmId) throw this.malformed(path, 'an object with a non-empty string "crmId"');
    return { crmId: body.crmId, created: res.status === 201, ...(isRecord(body.record) ? { record: body.record } : {}) };
  }

  async actUpdate(mailbox: ActMailboxRef, kind: ActKind, crmId: string, change: { fields: Fields; link: ActLink }): Promise<void> {
    const path = `${this.base(mailbox, kind)}/${encodeURIComponent(crmId)}`;
    this.expect(await this.send('PATCH', path, JSON.stringify({ crmId, ...change })), path, [200, 204]);
  }

  async actDelete(mailbox: ActMailboxRef, kind: ActKind, crmId: string): Promise<void> {
    const path = `${this.base(mailbox, kind)}/${encodeURIComponent(crmId)}`;
    this.expect(await this.send('DELETE', path, JSON.stringify({ crmId })), path, [200, 204, 404]);
  }

  async actLink(mailbox: ActMailboxRef, kind: ActKind, link: ActLink): Promise<void> {
    const path = `${this.base(mailbox, kind)}/${encodeURIComponent(link.crmId)}/link`;
    this.expect(await this.send('PUT', path, JSON.stringify(link)), path, [200, 204]);
  }

  async actUnlink(mailbox: ActMailboxRef, kind: ActKind, crmId: string): Promise<void> {
    const path = `${this.base(mailbox, kind)}/${encodeURIComponent(crmId)}/link`;
    this.expect(await this.send('DELETE', path, JSON.stringify({ crmId })), path, [200, 204, 404]);
  }

  async actGetState(mailbox: ActMailboxRef): Promise<ActMailboxState> {
    const path = `${this.base(mailbox)}/state`;
    const res = await this.send('GET', path);
    if (res.status === 404) return { kinds: {} };
    this.expect(res, path, [200]);
    const state = parseJson(res.text) as ActMailboxState | undefined;
    if (!state || typeof state.kinds !== 'object' || state.kinds === null) throw this.malformed(path, 'an object with "kinds"');
    return state;
  }

  async actPutState(mailbox: ActMailboxRef, state: ActMailboxState): Promise<void> {
    const path = `${this.base(mailbox)}/state`;
    this.expect(await this.send('PUT', path, JSON.stringify(state)), path, [200, 204]);
  }
}

function isRecord(v: unknown): v is ActRecord {
  return (
    !!v &&
    typeof v === 'object' &&
    typeof (v as ActRecord).crmId === 'string' &&
    typeof (v as ActRecord).fields === 'object' &&
    (v as ActRecord).fields !== null
  );
}
