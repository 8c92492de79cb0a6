// The ACT operations of the webhook contract (docs/crm-webhook-act.openapi.yaml) for the fake CRM
// (fake-crm-webhook.ts), plugged into its server: same bearer token, signatures and injected
// failures. It keeps what a CRM keeps: appointment, contact and task records, each mailbox's sync
// filter (Dynamics' defaults: appointments the user organizes or is a required attendee of,
// contacts the user owns and that are active, the user's tasks), a change feed per mailbox
// (records changed since a cursor, removals as deleted or leftFilter), the links and each
// mailbox's state. Creates are idempotent on (mailbox, kind, key).
import { randomUUID } from 'node:crypto';
import type { ActKind, Fields } from '../../src/act/model.js';
import type { ActLink, ActMailboxState } from '../../src/crm/act-types.js';
import type { Answer, FakeCrmWebhook } from './fake-crm-webhook.js';

export interface FakeActRecord {
  crmId: string;
  kind: ActKind;
  fields: Fields;
  /** Appointments: open, completed, canceled. Contacts: active, inactive. */
  state: string;
  iCalUId?: string;
  /** The owning user's mailbox address. */
  owner: string;
  deleted: boolean;
  seq: number;
  /** Mailboxes that ever had it in their filter (a removal is reported to them). */
  seenBy: Set<string>;
  /** An exception of a recurring series: its master's CRM id and the occurrence's original start. */
  seriesMasterId?: string;
  originalStart?: string;
}

const KINDS: Record<string, ActKind> = { appointments: 'appointment', contacts: 'contact', tasks: 'task' };

export class FakeCrmAct {
  readonly records = new Map<string, FakeActRecord>();
  readonly links = new Map<string, ActLink>();
  readonly states = new Map<string, ActMailboxState>();
  private readonly keys = new Map<string, string>();
  private seq = 0;
  /** Requests per operation, for the benchmarks. */
  readonly calls = new Map<string, number>();

  constructor(crm: FakeCrmWebhook) {
    crm.extensions.push((method, path, query, body) => this.route(method, path, query, body));
    crm.testExtensions.push((method, path, _query, body) => this.testRoute(method, path, body));
  }

  static attach(crm: FakeCrmWebhook): FakeCrmAct {
    return new FakeCrmAct(crm);
  }

  add(
    kind: ActKind,
    r: { owner: string; fields: Fields; state?: string; iCalUId?: string; crmId?: string; seriesMasterId?: string; originalStart?: string },
  ): string {
    const crmId = r.crmId ?? randomUUID();
    this.records.set(crmId, {
      crmId,
      kind,
      fields: { ...r.fields },
      state: r.state ?? (kind === 'contact' ? 'active' : 'open'),
      iCalUId: r.iCalUId,
      owner: r.owner.toLowerCase(),
      deleted: false,
      seq: ++this.seq,
      seenBy: new Set(),
      ...(r.seriesMasterId ? { seriesMasterId: r.seriesMasterId, originalStart: r.originalStart } : {}),
    });
    return crmId;
  }

  update(crmId: string, change: { fields?: Fields; state?: string; owner?: string }): void {
    const r = this.get(crmId);
    Object.assign(r.fields, change.fields ?? {});
    if (change.state) r.state = change.state;
    if (change.owner) r.owner = change.owner.toLowerCase();
    r.seq = ++this.seq;
  }

  remove(crmId: string): void {
    const r = this.get(crmId);
    r.deleted = true;
    r.seq = ++this.seq;
  }

  get(crmId: string): FakeActRecord {
    const r = this.records.get(crmId);
    if (!r) throw new Error(`fake CRM has no ACT record ${crmId}`);
    return r;
  }

  live(kind: ActKind): FakeActRecord[] {
    return [...this.records.values()].filter((r) => r.kind === kind && !r.deleted);
  }

  link(mailbox: string, kind: ActKind, crmId: string): ActLink | undefined {
    return this.links.get(`${mailbox.toLowerCase()}|${kind}|${crmId}`);
  }

  /** Dynamics' default sync filters, plus items the mailbox tracked from Exchange. */
  inFilter(r: FakeActRecord, mailbox: string): boolean {
    if (r.deleted) return false;
    if (this.link(mailbox, r.kind, r.crmId)?.origin === 'Exchange') return true;
    if (r.kind === 'appointment') {
      const required = ((r.fields.requiredAttendees as Array<{ address: string }> | null) ?? []).map((a) => a.address.toLowerCase());
      return String(r.fields.organizer ?? r.owner).toLowerCase() === mailbox || required.includes(mailbox);
    }
    if (r.kind === 'contact') return r.owner === mailbox && r.state === 'active';
    return r.owner === mailbox;
  }

  private count(op: string): void {
    this.calls.set(op, (this.calls.get(op) ?? 0) + 1);
  }

  private view(r: FakeActRecord, mailbox: string): Record<string, unknown> {
    const link = this.link(mailbox, r.kind, r.crmId);
    return {
      crmId: r.crmId,
      fields: r.fields,
      ...(r.kind === 'appointment' ? { state: r.state } : {}),
      ...(r.iCalUId ? { iCalUId: r.iCalUId } : {}),
      ...(r.seriesMasterId ? { seriesMasterId: r.seriesMasterId, originalStart: r.originalStart } : {}),
      ...(link ? { link } : {}),
      inFilter: this.inFilter(r, mailbox),
    };
  }

  private route(method: string, path: string, query: URLSearchParams, body: Record<string, unknown>): Answer | undefined {
    const m = /^\/act\/mailboxes\/([^/]+)(?:\/(appointments|contacts|tasks|state))?(?:\/([^/]+))?(?:\/(link))?$/.exec(path);
    if (!m) return undefined;
    const mailbox = decodeURIComponent(m[1]).toLowerCase();
    if (m[2] === 'state' && !m[3]) {
      this.count(`${method} state`);
      if (method === 'GET') return { status: 200, body: this.states.get(mailbox) ?? { kinds: {} } };
      if (method === 'PUT') {
        this.states.set(mailbox, body as unknown as ActMailboxState);
        return { status: 204, body: {} };
      }
      return undefined;
    }
    const kind = m[2] ? KINDS[m[2]] : undefined;
    if (!kind) return undefined;
    const id = m[3] ? decodeURIComponent(m[3]) : undefined;
    const linkKey = (crmId: string) => `${mailbox}|${kind}|${crmId}`;
    if (method === 'GET' && id === 'changes') {
      this.count('changes');
      const cursor = Number(query.get('cursor') ?? 0);
      const limit = Number(query.get('limit') ?? 100);
      const changed = [...this.records.values()].filter((r) => r.kind === kind && r.seq > cursor).sort((a, b) => a.seq - b.seq);
      const changes: unknown[] = [];
      let last = cursor;
      for (const r of changed) {
        if (changes.length >= limit) break;
        last = r.seq;
        const link = this.link(mailbox, kind, r.crmId);
        if (this.inFilter(r, mailbox)) {
          r.seenBy.add(mailbox);
          changes.push({ crmId: r.crmId, record: this.view(r, mailbox), ...(link ? { link } : {}) });
        } else if (r.seenBy.has(mailbox) || link) {
          changes.push({ crmId: r.crmId, removed: r.deleted ? 'deleted' : 'leftFilter', ...(link ? { link } : {}) });
        }
      }
      const more = changed.length > 0 && last < changed[changed.length - 1].seq;
      return { status: 200, body: { changes, cursor: String(more ? last : Math.max(last, this.seq)), more } };
    }
    if (method === 'POST' && id === 'lookup') {
      this.count('lookup');
      const crmIds = new Set((body.crmIds as string[]) ?? []);
      const exchangeIds = new Set((body.exchangeIds as string[]) ?? []);
      const uids = new Set((body.iCalUIds as string[]) ?? []);
      const records = [...this.records.values()]
        .filter((r) => r.kind === kind && !r.deleted)
        .filter(
          (r) =>
            crmIds.has(r.crmId) ||
            (r.iCalUId && uids.has(r.iCalUId)) ||
            exchangeIds.has(this.link(mailbox, kind, r.crmId)?.exchangeId ?? ''),
        )
        .map((r) => this.view(r, mailbox));
      return { status: 200, body: { records } };
    }
    if (method === 'POST' && !id) {
      this.count('create');
      const key = `${mailbox}|${kind}|${String(body.key)}`;
      const existing = this.keys.get(key);
      if (existing && this.records.get(existing) && !this.records.get(existing)!.deleted)
        return { status: 200, body: { crmId: existing, record: this.view(this.records.get(existing)!, mailbox) } };
      const link = body.link as Omit<ActLink, 'crmId'>;
      const crmId = this.add(kind, {
        owner: mailbox,
        fields: body.fields as Fields,
        iCalUId: link?.iCalUId,
        ...(typeof body.seriesMasterId === 'string'
          ? { seriesMasterId: body.seriesMasterId, originalStart: String(body.originalStart) }
          : {}),
      });
      this.keys.set(key, crmId);
      if (link) this.links.set(linkKey(crmId), { ...link, crmId });
      this.records.get(crmId)!.seenBy.add(mailbox);
      return { status: 201, body: { crmId } };
    }
    const r = id ? this.records.get(id) : undefined;
    if (!r || r.deleted || r.kind !== kind) return { status: 404, body: { error: { code: 'not_found', message: `no ${kind} ${id}` } } };
    if (m[4] === 'link') {
      this.count(`${method} link`);
      if (method === 'PUT') this.links.set(linkKey(r.crmId), { ...(body as unknown as ActLink), crmId: r.crmId });
      else if (method === 'DELETE') this.links.delete(linkKey(r.crmId));
      else return undefined;
      return { status: 204, body: {} };
    }
    if (method === 'PATCH') {
      this.count('update');
      Object.assign(r.fields, body.fields as Fields);
      if (body.link) this.links.set(linkKey(r.crmId), { ...(body.link as ActLink), crmId: r.crmId });
      r.seq = ++this.seq;
      return { status: 204, body: {} };
    }
    if (method === 'DELETE') {
      this.count('delete');
      r.deleted = true;
      r.seq = ++this.seq;
      return { status: 204, body: {} };
    }
    return undefined;
  }

  /** For a fake in another process: add, update and list records over /_test/act. */
  private testRoute(method: string, path: string, body: Record<string, unknown>): Answer | undefined {
    if (method === 'POST' && path === '/_test/act/records') {
      const crmId = this.add(body.kind as ActKind, body as never);
      return { status: 201, body: { crmId } };
    }
    const m = /^\/_test\/act\/records\/([^/]+)$/.exec(path);
    if (method === 'PATCH' && m) {
      this.update(decodeURIComponent(m[1]), body as never);
      return { status: 200, body: {} };
    }
    if (method === 'POST' && path === '/_test/act/list') {
      const kind = body.kind as ActKind;
      const mailbox = String(body.mailbox ?? '').toLowerCase();
      return { status: 200, body: { records: this.live(kind).map((r) => ({ ...this.view(r, mailbox), owner: r.owner })) } };
    }
    return undefined;
  }
}
