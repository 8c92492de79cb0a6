// One mailbox's appointment, contact and task sync: one cycle reads each kind's changes on both
// sides and reconciles them item by item.
//
// Order within a cycle, per kind, and why it survives a crash anywhere (SIGKILL) without
// duplicates or lost changes:
//   1. Exchange changes since the Exchange cursor. An item we created in an earlier cycle whose
//      link was never written (killed between the two) carries our stamp (the CRM id, in an
//      extended property, the Graph transactionId or the To Do linkedResource): it is linked now
//      instead of being seen as new.
//   2. CRM changes since the CRM cursor. A record already linked in step 1 is skipped; a record
//      without a link is created in Exchange with the stamp, then linked.
//   3. Both cursors are saved (in the CRM, with the links) only after every change they cover was
//      applied. A crash replays the cycle; every replayed change finds its link and its snapshot
//      and turns into a no-op.
// The cursors are read before any write of the cycle, so our own writes come back in the next
// cycle as changes whose fields equal the snapshot: no echo, no ping-pong.

import { isTransientReason } from '../api/reasons.js';
import type { ActConnector, ActLink, ActMailboxRef, ActMailboxState, ActRecord } from '../crm/act-types.js';
import type { ActKind, Fields, Snapshot } from './model.js';
import { FIELDS, fingerprint, KIND_PLURAL, normalize, utc } from './model.js';
import { MailError } from '../mail/types.js';
import { flowsToCrm, flowsToExchange, type DirectionTable } from './directions.js';
import { isEmpty, merge, type ConflictPolicy, type MergePlan } from './merge.js';
import { cancellationReachesExchange, exchangeView, mayInvite, onCrmRemoval, onExchangeRemoval, type RuleContext } from './rules.js';
import {
  ExchangeConflict,
  type ExchangeActAdapter,
  type ExchangeItem,
  type ExchangeKindStore,
  type OrganizationClaim,
  type SeriesRef,
  type Written,
} from './exchange/types.js';

export interface ActSettings {
  kinds: ActKind[];
  directions: Record<ActKind, DirectionTable>;
  policy: ConflictPolicy;
  /** The Outlook category that makes an Exchange item tracked (Exchange → CRM). */
  trackingCategory: string;
  propagateCancellations: boolean;
  /** Compute and report what a sync would do, write nothing. */
  dryRun: boolean;
  /** This Deployment takes the mailbox over from any other organization. */
  takeOver: boolean;
  /** CRM changes per page. */
  pageSize: number;
}

export interface ActCounts {
  created: number;
  updated: number;
  deleted: number;
  unlinked: number;
  conflicts: number;
  failed: number;
  /** Writes to Exchange that were allowed to notify attendees (invitations, updates, cancellations). */
  notified: number;
}

export type ActCycleCounts = Partial<Record<ActKind, ActCounts>>;

export interface ActOrganization {
  /** The Deployment's uid. */
  uid: string;
  /** `namespace/name`, for messages. */
  name: string;
}

export interface ActEngineOptions {
  mailbox: ActMailboxRef;
  org: ActOrganization;
  exchange: ExchangeActAdapter;
  crm: ActConnector;
  settings: ActSettings;
  now?: () => Date;
  /** One item could not be synchronized; it is skipped and the cycle goes on. */
  itemFailed?(kind: ActKind, item: string, reason: string, message: string): void;
}

/** Another organization holds the mailbox's ACT sync; permanent until a takeover or the claim goes stale. */
export class ActClaimedError extends Error {
  readonly reason = 'ClaimedByAnotherOrganization';
  readonly permanent = true;
  constructor(readonly holder: OrganizationClaim) {
    super(
      `appointments, contacts and tasks of this mailbox are synchronized by another organization (Deployment ${holder.name}, last confirmed ${holder.at}); ` +
        'only one organization may write to a mailbox: set spec.act.takeOver: true on this Mailbox to take it over (the other stops), or spec.appointmentsContactsTasks: None',
    );
    this.name = 'ActClaimedError';
  }
}

/** A claim not confirmed for this long is abandoned: another organization may take it without takeOver. */
export const CLAIM_STALE_MS = 24 * 3_600_000;
/** The holder confirms its claim this often. */
const CLAIM_REFRESH_MS = 3_600_000;

const zero = (): ActCounts => ({ created: 0, updated: 0, deleted: 0, unlinked: 0, conflicts: 0, failed: 0, notified: 0 });
/** Snapshot key of an appointment's CRM state, so a transition to cancelled is seen once. */
const STATE_KEY = '_state';

export class ActEngine {
  private state?: ActMailboxState;
  /** This kind's last cycle created items and did not finish: look for stamped items before creating. */
  private recovering = false;
  /** The write of this kind's `creating` mark, shared by the items of a cycle. */
  private marking?: Promise<void>;
  /** At a first sync: the items this organization stamped, by CRM id. */
  private stamped?: Map<string, { id: string }>;
  private readonly now: () => Date;

  constructor(private readonly o: ActEngineOptions) {
    this.now = o.now ?? (() => new Date());
  }

  async cycle(signal?: AbortSignal): Promise<ActCycleCounts> {
    const { settings } = this.o;
    if (!settings.dryRun) await this.ensureClaim(signal);
    this.state ??= await this.o.crm.actGetState(this.o.mailbox);
    const out: ActCycleCounts = {};
    const before = JSON.stringify(this.state);
    for (const kind of settings.kinds) {
      const store = this.o.exchange.stores[kind];
      if (store) out[kind] = await this.syncKind(kind, store, signal);
    }
    if (settings.dryRun)
      this.state = undefined; // a dry run keeps nothing: the real first sync starts from scratch
    else if (JSON.stringify(this.state) !== before) await this.o.crm.actPutState(this.o.mailbox, this.state);
    return out;
  }

  /** Makes sure this organization holds the mailbox (written in the mailbox, as Dynamics does). */
  private async ensureClaim(signal?: AbortSignal): Promise<void> {
    // Read every cycle (one small request): a takeover by another organization stops our writes
    // within one cycle.
    const now = this.now().getTime();
    const { org, exchange, settings } = this.o;
    const held = await exchange.readClaim(signal);
    const heldAt = held ? Date.parse(held.at) : NaN;
    if (held && held.org !== org.uid && now - heldAt < CLAIM_STALE_MS && !settings.takeOver) throw new ActClaimedError(held);
    if (!held || held.org !== org.uid || now - heldAt > CLAIM_REFRESH_MS) {
      await exchange.writeClaim({ org: org.uid, name: org.name, at: this.now().toISOString() }, signal);
      // Two organizations writing at once: the last write wins, and the loser sees it here.
      const after = await exchange.readClaim(signal);
      if (after && after.org !== org.uid) throw new ActClaimedError(after);
    }
  }

  private async syncKind(kind: ActKind, store: ExchangeKindStore, signal?: AbortSignal): Promise<ActCounts> {
    const { crm, mailbox, settings } = this.o;
    const ks = (this.state!.kinds[kind] ??= {});
    const ctx: RuleContext = { mailbox: mailbox.address.toLowerCase(), now: this.now(), initial: !ks.initialDone };
    // A cycle that created items and never finished: a create may have no link yet.
    this.recovering = ks.creating === true;
    this.marking = undefined;
    // First sync: items we stamped earlier (links lost with the CRM's state) are found, not created again.
    this.stamped = ctx.initial && store.stampIndex ? await store.stampIndex(this.o.org.uid, signal) : undefined;
    const counts = zero();
    const touched = new Set<string>();

    // 1. Exchange.
    const ex = await store.changes(ks.exchangeCursor, signal);
    const ids = [...ex.items.map((i) => i.id), ...ex.removed];
    const byExchangeId = new Map<string, ActRecord>();
    for (const r of ids.length ? await crm.actLookup(mailbox, kind, { exchangeIds: ids }) : [])
      if (r.link) byExchangeId.set(r.link.exchangeId, r);
    // Items not linked by id: linked by our stamp (a create whose link was lost) or, for events, by iCalUId.
    const unlinked = ex.items.filter((i) => !byExchangeId.has(i.id));
    const stamps = unlinked.map((i) => i.stampedCrmId).filter((s): s is string => !!s);
    const uids = unlinked.filter((i) => !i.stampedCrmId && i.iCalUId).map((i) => i.iCalUId!);
    const byCrmId = new Map<string, ActRecord>();
    const byUid = new Map<string, ActRecord>();
    if (stamps.length || uids.length) {
      for (const r of await crm.actLookup(mailbox, kind, { crmIds: stamps, iCalUIds: uids })) {
        byCrmId.set(r.crmId, r);
        if (r.iCalUId) byUid.set(r.iCalUId, r);
      }
    }
    const exchangeByUid = new Map<string, ExchangeItem>();
    for (const item of ex.items) if (item.iCalUId) exchangeByUid.set(item.iCalUId, item);
    const recordOf = (item: ExchangeItem): ActRecord | undefined =>
      byExchangeId.get(item.id) ??
      (item.stampedCrmId ? byCrmId.get(item.stampedCrmId) : undefined) ??
      (item.iCalUId ? byUid.get(item.iCalUId) : undefined);
    // Series masters (and single items) first, then exceptions, which need their master's link.
    const [exceptions, firsts] = partition(ex.items, (i) => !!i.seriesMasterId);
    await eachLimited(firsts, (item) =>
      this.guard(kind, item.id, counts, () =>
        this.fromExchange(kind, store, item, recordOf(item), undefined, ctx, counts, touched, signal),
      ),
    );
    if (exceptions.length) {
      const masterIds = [...new Set(exceptions.map((i) => i.seriesMasterId!))];
      const masters = new Map<string, ActRecord>();
      for (const r of await crm.actLookup(mailbox, kind, { exchangeIds: masterIds })) if (r.link) masters.set(r.link.exchangeId, r);
      await eachLimited(exceptions, (item) =>
        this.guard(kind, item.id, counts, () =>
          this.fromExchange(kind, store, item, recordOf(item), masters.get(item.seriesMasterId!), ctx, counts, touched, signal),
        ),
      );
    }
    await eachLimited(ex.removed, async (id) => {
      const rec = byExchangeId.get(id);
      if (rec) await this.guard(kind, id, counts, () => this.exchangeRemoved(kind, rec, ctx, counts, touched));
    });

    // 2. CRM.
    let cursor = ks.crmCursor;
    for (;;) {
      const page = await crm.actChanges(mailbox, kind, cursor, settings.pageSize);
      // Reconciled in step 1 with the record as it is now; a removal still applies.
      const todo = page.changes.filter((change) => !touched.has(change.crmId) || change.removed);
      for (const change of todo) touched.add(change.crmId);
      // Series masters (and single records) first, then exceptions, which need their master's link.
      const [later, first] = partition(todo, (change) => !!change.record?.seriesMasterId);
      for (const batch of [first, later])
        await eachLimited(batch, (change) =>
          this.guard(kind, change.crmId, counts, () =>
            this.fromCrm(
              kind,
              store,
              change.crmId,
              change.record,
              change.removed,
              change.link ?? change.record?.link,
              ctx,
              counts,
              exchangeByUid,
              signal,
            ),
          ),
        );
      cursor = page.cursor;
      if (!page.more) break;
    }

    // 3. Cursors, saved by cycle() with the rest of the state.
    ks.exchangeCursor = ex.cursor;
    ks.crmCursor = cursor;
    ks.initialDone = true;
    delete ks.creating;
    return counts;
  }

  /** Runs one item's work; a failure of that item alone is reported and skipped, anything else ends the cycle. */
  private async guard(kind: ActKind, item: string, counts: ActCounts, work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (err) {
      const e = err as { reason?: unknown; message?: unknown; permanent?: unknown };
      const reason = typeof e?.reason === 'string' ? e.reason : undefined;
      // Unclassified errors, transient ones and a whole refused direction end the cycle: retried, never skipped.
      if (
        !reason ||
        isTransientReason(reason) ||
        reason === 'AuthenticationFailed' ||
        reason === 'CRMAuthenticationFailed' ||
        reason === 'MailboxNotFound' ||
        err instanceof ActClaimedError
      )
        throw err;
      counts.failed++;
      this.o.itemFailed?.(kind, item, reason, typeof e.message === 'string' ? e.message : String(err));
    }
  }

  private directions(kind: ActKind): DirectionTable {
    const table = this.o.settings.directions[kind];
    const unsupported = [...(this.o.exchange.stores[kind]?.unsupported ?? []), ...(this.o.crm.actUnsupported?.[kind] ?? [])];
    if (!unsupported.length) return table;
    return { ...table, ...Object.fromEntries(unsupported.map((f) => [f, 'None' as const])) };
  }

  private link(
    kind: ActKind,
    crmId: string,
    w: { id: string; changeKey?: string; iCalUId?: string },
    snapshot: Snapshot,
    origin: ActLink['origin'],
    state?: ActRecord['state'],
  ): ActLink {
    return {
      crmId,
      exchangeId: w.id,
      ...(w.changeKey ? { changeKey: w.changeKey } : {}),
      ...(w.iCalUId ? { iCalUId: w.iCalUId } : {}),
      snapshot: kind === 'appointment' ? { ...snapshot, [STATE_KEY]: fingerprint(state ?? 'open') } : snapshot,
      origin,
    };
  }

  private async fromExchange(
    kind: ActKind,
    store: ExchangeKindStore,
    item: ExchangeItem,
    rec: ActRecord | undefined,
    master: ActRecord | undefined,
    ctx: RuleContext,
    counts: ActCounts,
    touched: Set<string>,
    signal?: AbortSignal,
  ): Promise<void> {
    const { crm, mailbox, settings, org } = this.o;
    if (!crm.actSeries && (item.seriesMasterId || normalize(kind, item.fields).recurrence)) {
      // Its master is reported (when tracked or linked); its exceptions go with it.
      if (item.seriesMasterId || !(rec || item.categories.includes(settings.trackingCategory))) return;
      throw new MailError(
        'ItemRejected',
        `"${String(item.fields.subject ?? '')}" is a recurring series in Exchange, and this CRM connector does not synchronize recurring series (docs/act.md, "Recurring series and time zones"); it is skipped, and its CRM record (if linked) keeps its last synchronized values`,
      );
    }
    // An exception follows its series: synchronized when the master is (its category is the master's business).
    const tracked = item.seriesMasterId ? !!master?.link : item.categories.includes(settings.trackingCategory);
    // Out of this mailbox's filter now: the CRM's change feed reports that (unlink), not this item.
    if (rec && rec.inFilter === false) return;
    if (rec) {
      touched.add(rec.crmId);
      const link = rec.link;
      // Removing the category untracks an item that was tracked by it; the CRM keeps its record.
      if (link?.origin === 'Exchange' && !tracked && link.exchangeId === item.id) {
        if (!settings.dryRun) await crm.actUnlink(mailbox, kind, rec.crmId);
        counts.unlinked++;
        return;
      }
      await this.reconcile(
        kind,
        store,
        rec,
        item,
        link?.exchangeId === item.id ? link.snapshot : undefined,
        link?.origin ?? 'CRM',
        ctx,
        counts,
        signal,
      );
      return;
    }
    if (!tracked || kind === 'contact') return; // untracked (contacts cannot be tracked by category, as in Dynamics)
    if (settings.dryRun) {
      counts.created++;
      return;
    }
    const fields = normalize(kind, item.fields);
    const toCrm: Fields = {};
    for (const [f, d] of Object.entries(this.directions(kind))) if (flowsToCrm(d)) toCrm[f] = fields[f];
    const plan = {
      snapshot: merge({ directions: this.directions(kind), policy: settings.policy, exchange: fields, crm: { ...nulls(kind), ...toCrm } })
        .snapshot,
    };
    const created = await crm.actCreate(mailbox, kind, {
      key: item.seriesMasterId ? `${item.seriesMasterId}@${item.originalStart}` : (item.iCalUId ?? item.id),
      fields: toCrm,
      link: { exchangeId: item.id, changeKey: item.changeKey, iCalUId: item.iCalUId, snapshot: plan.snapshot, origin: 'Exchange' },
      ...(item.seriesMasterId && master ? { seriesMasterId: master.crmId, originalStart: item.originalStart } : {}),
    });
    touched.add(created.crmId);
    if (!created.created && created.record) {
      // The CRM had it already (a replay after a crash): reconcile as a first link.
      await this.reconcile(
        kind,
        store,
        created.record,
        item,
        created.record.link?.exchangeId === item.id ? created.record.link.snapshot : undefined,
        'Exchange',
        ctx,
        counts,
        signal,
      );
      return;
    }
    counts.created++;
    // Stamp the CRM id on the item, so the link can be rebuilt from Exchange alone.
    const w = await store
      .update(item.id, item.changeKey, {}, { notifyAttendees: false, stamp: { org: org.uid, crmId: created.crmId } }, signal)
      .catch((err: unknown) => {
        if (err instanceof ExchangeConflict) return undefined; // changed meanwhile: stamped on its next change
        throw err;
      });
    if (w) await crm.actLink(mailbox, kind, this.link(kind, created.crmId, { ...w, iCalUId: item.iCalUId }, plan.snapshot, 'Exchange'));
  }

  /** Merges a CRM record with its Exchange item and writes what each side lacks. */
  private async reconcile(
    kind: ActKind,
    store: ExchangeKindStore,
    rec: ActRecord,
    item: ExchangeItem,
    base: Snapshot | undefined,
    origin: ActLink['origin'],
    ctx: RuleContext,
    counts: ActCounts,
    signal?: AbortSignal,
  ): Promise<void> {
    const { settings, crm, mailbox, org } = this.o;
    const crmView = exchangeView(kind, normalize(kind, rec.fields), rec.state);
    const exFields = normalize(kind, item.fields);
    const plan = merge({ directions: this.directions(kind), policy: settings.policy, base, exchange: exFields, crm: crmView });
    counts.conflicts += plan.conflicts.length;
    // Stamp when the link is made; delta does not show every kind's stamp, so a linked item is taken as stamped.
    const stampMissing = rec.link?.exchangeId !== item.id && item.stampedCrmId !== rec.crmId;
    const stateChanged = kind === 'appointment' && base?.[STATE_KEY] !== fingerprint(rec.state ?? 'open');
    const unchanged =
      isEmpty(plan.toExchange) &&
      isEmpty(plan.toCrm) &&
      !stampMissing &&
      base !== undefined &&
      !stateChanged &&
      rec.link?.exchangeId === item.id;
    if (unchanged) return;
    if (settings.dryRun) {
      if (!isEmpty(plan.toExchange) || !isEmpty(plan.toCrm)) counts.updated++;
      return;
    }
    let written: Written = { id: item.id, changeKey: item.changeKey, iCalUId: item.iCalUId };
    if (!isEmpty(plan.toExchange) || stampMissing) {
      const notify = mayInvite({ ...exFields, ...plan.toExchange }, Object.keys(plan.toExchange), ctx);
      if (notify) counts.notified++;
      try {
        written = {
          ...(await store.update(
            item.id,
            item.changeKey,
            plan.toExchange,
            { notifyAttendees: notify, stamp: { org: org.uid, crmId: rec.crmId } },
            signal,
          )),
          iCalUId: item.iCalUId,
        };
        // Fields Exchange could not take without mailing attendees: its values stand, on both sides.
        for (const f of written.withheld ?? []) {
          delete plan.toExchange[f];
          plan.toCrm[f] = exFields[f];
          plan.snapshot[f] = fingerprint(exFields[f]);
        }
      } catch (err) {
        if (!(err instanceof ExchangeConflict)) throw err;
        // Changed since we read it: read it again and merge once more.
        const fresh = await store.get(item.id, signal);
        if (!fresh) return;
        await this.reconcile(kind, store, rec, fresh, base, origin, ctx, counts, signal);
        return;
      }
    }
    const link = this.link(kind, rec.crmId, written, plan.snapshot, origin, rec.state);
    if (!isEmpty(plan.toCrm)) await crm.actUpdate(mailbox, kind, rec.crmId, { fields: plan.toCrm, link });
    else await crm.actLink(mailbox, kind, link);
    if (!isEmpty(plan.toExchange) || !isEmpty(plan.toCrm)) counts.updated++;
  }

  private async exchangeRemoved(kind: ActKind, rec: ActRecord, ctx: RuleContext, counts: ActCounts, touched: Set<string>): Promise<void> {
    const { crm, mailbox, settings } = this.o;
    touched.add(rec.crmId);
    const action = onExchangeRemoval(kind, normalize(kind, rec.fields), rec.state, ctx);
    if (action === 'delete') {
      if (!settings.dryRun) await crm.actDelete(mailbox, kind, rec.crmId);
      counts.deleted++;
    } else {
      if (!settings.dryRun) await crm.actUnlink(mailbox, kind, rec.crmId);
      counts.unlinked++;
    }
  }

  private async fromCrm(
    kind: ActKind,
    store: ExchangeKindStore,
    crmId: string,
    rec: ActRecord | undefined,
    removed: 'deleted' | 'leftFilter' | 'accessLost' | undefined,
    link: ActLink | undefined,
    ctx: RuleContext,
    counts: ActCounts,
    exchangeByUid: Map<string, ExchangeItem>,
    signal?: AbortSignal,
  ): Promise<void> {
    const { crm, mailbox, settings, org } = this.o;
    if (removed || !rec) {
      if (!link) return; // never synchronized with this mailbox
      const last = removed === 'deleted' ? await store.get(link.exchangeId, signal) : undefined;
      const verdict = onCrmRemoval(kind, removed ?? 'deleted', last && normalize(kind, last.fields), ctx);
      if (settings.dryRun) {
        counts[verdict.action === 'delete' ? 'deleted' : 'unlinked']++;
        return;
      }
      if (verdict.action === 'delete' && last) {
        if (verdict.sendCancellations) counts.notified++;
        await store.delete(link.exchangeId, { notifyAttendees: verdict.sendCancellations }, signal);
        counts.deleted++;
      } else counts.unlinked++;
      await crm.actUnlink(mailbox, kind, crmId);
      return;
    }
    const crmView = exchangeView(kind, normalize(kind, rec.fields), rec.state);
    if (link) {
      // A cancellation in the CRM, seen once (the snapshot keeps the state it last saw).
      const cancelled = kind === 'appointment' && rec.state === 'canceled' && link.snapshot[STATE_KEY] !== fingerprint('canceled');
      if (cancelled && cancellationReachesExchange(crmView, settings.propagateCancellations, ctx)) {
        if (settings.dryRun) return void counts.deleted++;
        counts.notified++;
        await store.delete(link.exchangeId, { notifyAttendees: true }, signal);
        await crm.actUnlink(mailbox, kind, crmId);
        counts.deleted++;
        return;
      }
      // The Exchange item did not change since the snapshot (it would have come in step 1), unless
      // the snapshot lacks a field: then read it.
      const complete = FIELDS[kind].every((f) => link.snapshot[f] !== undefined);
      const item = complete ? undefined : await store.get(link.exchangeId, signal);
      if (!complete && !item) return; // deleted in Exchange meanwhile: step 1 of the next cycle handles it
      if (item) return this.reconcile(kind, store, rec, item, link.snapshot, link.origin, ctx, counts, signal);
      const plan = merge({ directions: this.directions(kind), policy: settings.policy, base: link.snapshot, crm: crmView });
      const stateChanged = kind === 'appointment' && link.snapshot[STATE_KEY] !== fingerprint(rec.state ?? 'open');
      if (isEmpty(plan.toExchange) && !stateChanged) return;
      if (settings.dryRun) return void counts.updated++;
      await this.writeToExchange(kind, store, rec, crmView, link, plan, ctx, counts, signal);
      return;
    }
    // Not linked yet. At the first sync an Exchange event with the same iCalUId is the same meeting.
    const twin = rec.iCalUId ? exchangeByUid.get(rec.iCalUId) : undefined;
    if (twin) return this.reconcile(kind, store, rec, twin, undefined, 'CRM', ctx, counts, signal);
    if (settings.dryRun) return void counts.created++;
    const ks = this.state!.kinds[kind]!;
    if (this.stamped?.has(crmId) || (this.recovering && store.findByStamp)) {
      // Created before a crash (or before the CRM lost its links), stamp not in the change feed: find it by its stamp.
      const found = this.stamped?.get(crmId) ?? (await store.findByStamp!({ org: org.uid, crmId }, signal));
      const item = found && (await store.get(found.id, signal));
      if (item) return this.reconcile(kind, store, rec, item, undefined, 'CRM', ctx, counts, signal);
    }
    if (store.findByStamp) {
      // Say so before the first create (once, whichever item comes first), so that a crash before
      // its link is written is recovered.
      this.marking ??= ks.creating ? Promise.resolve() : ((ks.creating = true), crm.actPutState(mailbox, this.state!));
      await this.marking;
    }
    const fields: Fields = {};
    for (const [f, d] of Object.entries(this.directions(kind))) if (flowsToExchange(d)) fields[f] = crmView[f];
    const series = await this.seriesOf(kind, rec);
    const notify = kind === 'appointment' && mayInvite(crmView, 'create', ctx);
    if (notify) counts.notified++;
    const w = await store.create(fields, { org: org.uid, crmId }, { notifyAttendees: notify, ...(series ? { series } : {}) }, signal);
    const snapshot = merge({
      directions: this.directions(kind),
      policy: settings.policy,
      exchange: { ...nulls(kind), ...fields },
      crm: crmView,
    }).snapshot;
    await crm.actLink(mailbox, kind, this.link(kind, crmId, w, snapshot, 'CRM', rec.state));
    counts.created++;
  }

  /** Where a CRM exception goes in Exchange: its master's Exchange id and the original start. */
  private async seriesOf(kind: ActKind, rec: ActRecord): Promise<SeriesRef | undefined> {
    if (!rec.seriesMasterId) return undefined;
    const originalStart = utc(rec.originalStart);
    const [master] = await this.o.crm.actLookup(this.o.mailbox, kind, { crmIds: [rec.seriesMasterId] });
    if (!master?.link || !originalStart)
      throw new MailError(
        'ItemRejected',
        `this exception of a recurring series (master ${rec.seriesMasterId}, original start ${String(rec.originalStart)}) cannot be placed: ${originalStart ? 'its series master is not synchronized with this mailbox' : 'its originalStart is not a time'}; it is skipped until it changes`,
      );
    return { masterId: master.link.exchangeId, originalStart };
  }

  /** A CRM change to a linked item whose Exchange side is unchanged: write it, or merge again on a conflict. */
  private async writeToExchange(
    kind: ActKind,
    store: ExchangeKindStore,
    rec: ActRecord,
    crmView: Fields,
    link: ActLink,
    plan: MergePlan,
    ctx: RuleContext,
    counts: ActCounts,
    signal?: AbortSignal,
  ): Promise<void> {
    const notify = mayInvite(crmView, Object.keys(plan.toExchange), ctx);
    try {
      if (notify) counts.notified++;
      const w = await store.update(link.exchangeId, link.changeKey, plan.toExchange, { notifyAttendees: notify }, signal);
      if (w.withheld?.length) {
        // Exchange kept some fields (see reconcile): merge with the item as it is.
        const fresh = await store.get(link.exchangeId, signal);
        if (fresh)
          await this.reconcile(
            kind,
            store,
            rec,
            { ...fresh, changeKey: w.changeKey ?? fresh.changeKey },
            link.snapshot,
            link.origin,
            ctx,
            counts,
            signal,
          );
        return;
      }
      await this.o.crm.actLink(
        this.o.mailbox,
        kind,
        this.link(kind, rec.crmId, { ...w, iCalUId: link.iCalUId }, plan.snapshot, link.origin, rec.state),
      );
      if (!isEmpty(plan.toExchange)) counts.updated++;
    } catch (err) {
      if (!(err instanceof ExchangeConflict)) throw err;
      if (notify) counts.notified--;
      const fresh = await store.get(link.exchangeId, signal);
      if (fresh) await this.reconcile(kind, store, rec, fresh, link.snapshot, link.origin, ctx, counts, signal);
    }
  }
}

/**
 * Items of one page are independent (one record, one Exchange item each): 4 at a time, the
 * requests Graph serves at once per mailbox (the adapter's slots enforce the limit anyway).
 */
export const ITEM_CONCURRENCY = 4;

async function eachLimited<T>(items: T[], fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (!failure && next < items.length) {
      try {
        await fn(items[next++]);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  // A failure stops taking new items, and the cycle ends only when those in flight have settled:
  // nothing of a failed cycle runs on beside the next one.
  await Promise.all(Array.from({ length: Math.min(ITEM_CONCURRENCY, items.length) }, worker));
  if (failure) throw failure.err;
}

function partition<T>(items: T[], test: (item: T) => boolean): [T[], T[]] {
  const yes: T[] = [];
  const no: T[] = [];
  for (const i of items) (test(i) ? yes : no).push(i);
  return [yes, no];
}

/** Every field of the kind as null: the other side of an item that exists on one side only. */
function nulls(kind: ActKind): Fields {
  return normalize(kind, {});
}

export const kindLabel = (kind: ActKind): string => KIND_PLURAL[kind];
