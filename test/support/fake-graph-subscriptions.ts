// Microsoft Graph change notifications for the fake Graph, as the service behaves ("Set up
// notifications for changes in resource data", "Receive change notifications through webhooks",
// "Reduce missing subscriptions and change notifications", subscription resource type):
//   POST   /v1.0/subscriptions                 validates notificationUrl and lifecycleNotificationUrl
//                                              (POST ?validationToken=..., 200 text/plain echo within
//                                              10 s) and answers 201, or 400 ValidationError
//   PATCH  /v1.0/subscriptions/{id}            renews (expirationDateTime); 404 once it expired
//   POST   /v1.0/subscriptions/{id}/reauthorize
//   DELETE /v1.0/subscriptions/{id}
// A message created in a mailbox's Inbox is posted to every live subscription on it, with its
// clientState, as {"value":[...]}; so is a change of an event, a contact or a To Do task
// (users/{id}/events, /contacts, /todo/lists/{id}/tasks, reported by fake-graph-act.ts). Lifecycle notifications (reauthorizationRequired,
// subscriptionRemoved, missed) go to lifecycleNotificationUrl. While a subscription waits for
// reauthorization its notifications are held, and released when it is reauthorized or renewed.
// Graph posts only to https:// URLs; the fake trusts the test CA.

import type http from 'node:http';
import { Agent, fetch } from 'undici';
import { sendJson } from './https-server.js';

/** Graph's limit for Outlook message subscriptions: 10,080 minutes, just under 7 days. */
const MAX_LIFETIME_MS = 10_080 * 60_000;
/** Graph's limit for Microsoft To Do task subscriptions: 4,230 minutes. */
const TODO_MAX_LIFETIME_MS = 4_230 * 60_000;
const INBOX = "mailFolders('Inbox')/messages";

interface Subscription {
  id: string;
  mailbox: string;
  /** Under users/{id}/: the Inbox's messages, events, contacts or todo/lists/{id}/tasks. */
  resource: string;
  changeTypes: string[];
  notificationUrl: string;
  lifecycleUrl?: string;
  clientState?: string;
  expiresAt: number;
  needsReauthorization: boolean;
  held: object[];
}

export class FakeGraphSubscriptions {
  private readonly subscriptions = new Map<string, Subscription>();
  private nextId = 1;
  private readonly agent: Agent;
  /** The next this-many change notifications are lost. */
  dropNext = 0;
  /** Every notification and lifecycle notification posted: where, what, and the status answered. */
  readonly posted: Array<{ kind: 'change' | 'lifecycle'; event?: string; subscriptionId: string; status: number; resource?: string }> = [];
  /** Every creation attempt: the mailbox, the resource under users/{id}/ and whether validation passed. */
  readonly creations: Array<{ mailbox: string; validated: boolean; resource: string }> = [];
  /** Resources (as a pattern) whose subscriptions are refused with 403, as To Do's may be. */
  readonly refused: RegExp[] = [];
  readonly renewals: string[] = [];
  readonly reauthorizations: string[] = [];

  constructor(
    private readonly tenantId: string,
    caPem: string,
    private readonly hasMailbox: (m: string) => boolean,
  ) {
    this.agent = new Agent({ connect: { ca: caPem } });
  }

  get count(): number {
    return this.subscriptions.size;
  }

  /** Live subscriptions on a mailbox. */
  of(mailbox: string): number {
    return [...this.subscriptions.values()].filter((s) => s.mailbox === mailbox.toLowerCase() && s.expiresAt > Date.now()).length;
  }

  /** Routes under /v1.0/subscriptions; false when the path is not one of them. */
  handle(req: http.IncomingMessage, res: http.ServerResponse, path: string, body: string): boolean {
    const m = /^\/v1\.0\/subscriptions(?:\/([^/]+)(\/reauthorize)?)?$/.exec(path);
    if (!m) return false;
    const [, id, reauthorize] = m;
    if (!id && req.method === 'POST') void this.create(res, body);
    else if (id && reauthorize && req.method === 'POST') this.reauthorize(res, decodeURIComponent(id));
    else if (id && req.method === 'PATCH') this.renew(res, decodeURIComponent(id), body);
    else if (id && req.method === 'DELETE') {
      if (!this.subscriptions.delete(decodeURIComponent(id))) notFound(res);
      else res.writeHead(204).end();
    } else graphError(res, 405, 'MethodNotAllowed', 'The method is not allowed.');
    return true;
  }

  /** A message was created in the mailbox's Inbox. */
  created(mailbox: string, messageId: string): void {
    this.changed(mailbox, INBOX, 'created', `Messages/${messageId}`, 'Message', messageId);
  }

  /** An item of `resource` (events, contacts, todo/lists/{id}/tasks; the Inbox's messages) changed. */
  changed(mailbox: string, resource: string, changeType: string, path: string, type: string, id: string): void {
    for (const s of this.live(mailbox)) {
      if (s.resource !== resource || !s.changeTypes.includes(changeType)) continue;
      if (this.dropNext > 0) {
        this.dropNext--;
        continue;
      }
      const n = {
        subscriptionId: s.id,
        subscriptionExpirationDateTime: new Date(s.expiresAt).toISOString(),
        changeType,
        resource: `Users/${mailbox}/${path}`,
        resourceData: { '@odata.type': `#Microsoft.Graph.${type}`, '@odata.id': `Users/${mailbox}/${path}`, id },
        clientState: s.clientState ?? null,
        tenantId: this.tenantId,
      };
      if (s.needsReauthorization) s.held.push(n);
      else void this.post(s.notificationUrl, [n], 'change', s.id, undefined, resource);
    }
  }

  /** Graph wants every subscription reauthorized: notifications are held until it is. */
  requireReauthorization(): void {
    for (const s of this.subscriptions.values()) {
      s.needsReauthorization = true;
      this.lifecycle(s, 'reauthorizationRequired');
    }
  }

  /** Graph removed every subscription (an app's access revoked and restored, say). */
  removeAll(): void {
    for (const s of [...this.subscriptions.values()]) {
      this.subscriptions.delete(s.id);
      this.lifecycle(s, 'subscriptionRemoved');
    }
  }

  /** Graph could not deliver some notifications. */
  missedAll(): void {
    for (const s of this.subscriptions.values()) this.lifecycle(s, 'missed');
  }

  /** Every subscription's expiry passes without a renewal. */
  expireAll(): void {
    for (const s of this.subscriptions.values()) s.expiresAt = Date.now() - 1;
  }

  /** A notification for a live subscription with a clientState that is not the subscription's. */
  async forge(mailbox: string): Promise<number> {
    const s = this.live(mailbox)[0];
    if (!s) throw new Error(`no subscription on ${mailbox}`);
    return this.post(
      s.notificationUrl,
      [{ subscriptionId: s.id, changeType: 'created', clientState: 'forged-client-state', resource: `Users/${mailbox}/Messages/x` }],
      'change',
      s.id,
    );
  }

  close(): Promise<void> {
    return this.agent.close();
  }

  private live(mailbox: string): Subscription[] {
    return [...this.subscriptions.values()].filter((s) => s.mailbox === mailbox.toLowerCase() && s.expiresAt > Date.now());
  }

  private async create(res: http.ServerResponse, body: string): Promise<void> {
    const req = JSON.parse(body) as Record<string, unknown>;
    const m = /^users\/([^/]+)\/(mailFolders\('Inbox'\)\/messages|events|contacts|todo\/lists\/[^/]+\/tasks)$/i.exec(
      String(req.resource ?? ''),
    );
    if (!m) return graphError(res, 400, 'InvalidRequest', 'The resource is not supported.');
    const mailbox = decodeURIComponent(m[1]).toLowerCase();
    const resource = /^mailFolders/i.test(m[2]) ? INBOX : decodeURIComponent(m[2]);
    if (!this.hasMailbox(mailbox)) return graphError(res, 404, 'ResourceNotFound', 'The user was not found.');
    if (this.refused.some((r) => r.test(resource))) {
      this.creations.push({ mailbox, validated: false, resource });
      return graphError(res, 403, 'ExtensionError', 'Operation: Create; Exception: [Status Code: Forbidden]');
    }
    const changeTypes = String(req.changeType ?? '').split(',');
    if (
      !changeTypes.length ||
      !changeTypes.every((t) => ['created', 'updated', 'deleted'].includes(t)) ||
      (resource === INBOX && !changeTypes.includes('created'))
    )
      return graphError(res, 400, 'InvalidRequest', 'changeType is invalid.');
    const expiresAt = Date.parse(String(req.expirationDateTime));
    const max = maxLifetime(resource);
    if (!(expiresAt > Date.now()) || expiresAt > Date.now() + max)
      return graphError(res, 400, 'InvalidRequest', `Subscription expiration can only be ${max / 60_000 - 10} minutes in the future.`);
    if (typeof req.clientState === 'string' && req.clientState.length > 128)
      return graphError(res, 400, 'InvalidRequest', 'clientState is too long.');
    const urls = [req.notificationUrl, req.lifecycleNotificationUrl].filter((u): u is string => typeof u === 'string');
    if (!urls.every((u) => u.startsWith('https://'))) return graphError(res, 400, 'InvalidRequest', 'The notification URL must use https.');
    for (const url of new Set(urls)) {
      if (!(await this.validate(url))) {
        this.creations.push({ mailbox, validated: false, resource });
        return graphError(
          res,
          400,
          'ValidationError',
          'Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.',
        );
      }
    }
    this.creations.push({ mailbox, validated: true, resource });
    const s: Subscription = {
      id: `fake-subscription-${this.nextId++}`,
      mailbox,
      resource,
      changeTypes,
      notificationUrl: String(req.notificationUrl),
      lifecycleUrl: typeof req.lifecycleNotificationUrl === 'string' ? req.lifecycleNotificationUrl : undefined,
      clientState: typeof req.clientState === 'string' ? req.clientState : undefined,
      expiresAt,
      needsReauthorization: false,
      held: [],
    };
    this.subscriptions.set(s.id, s);
    sendJson(res, 201, {
      '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#subscriptions/$entity',
      id: s.id,
      resource: req.resource,
      changeType: req.changeType,
      clientState: s.clientState ?? null,
      notificationUrl: s.notificationUrl,
      lifecycleNotificationUrl: s.lifecycleUrl ?? null,
      expirationDateTime: new Date(expiresAt).toISOString(),
    });
  }

  private renew(res: http.ServerResponse, id: string, body: string): void {
    const s = this.subscriptions.get(id);
    if (!s || s.expiresAt <= Date.now()) {
      this.subscriptions.delete(id);
      return notFound(res);
    }
    const expiresAt = Date.parse(String((JSON.parse(body) as { expirationDateTime?: unknown }).expirationDateTime));
    if (!(expiresAt > Date.now()) || expiresAt > Date.now() + maxLifetime(s.resource))
      return graphError(res, 400, 'InvalidRequest', 'Subscription expiration is too far in the future.');
    s.expiresAt = expiresAt;
    this.renewals.push(id);
    this.release(s);
    sendJson(res, 200, { id: s.id, expirationDateTime: new Date(expiresAt).toISOString() });
  }

  private reauthorize(res: http.ServerResponse, id: string): void {
    const s = this.subscriptions.get(id);
    if (!s || s.expiresAt <= Date.now()) return notFound(res);
    this.reauthorizations.push(id);
    this.release(s);
    res.writeHead(204).end();
  }

  private release(s: Subscription): void {
    s.needsReauthorization = false;
    const held = s.held.splice(0);
    if (held.length) void this.post(s.notificationUrl, held, 'change', s.id);
  }

  private lifecycle(s: Subscription, event: string): void {
    const n = {
      lifecycleEvent: event,
      subscriptionId: s.id,
      subscriptionExpirationDateTime: new Date(s.expiresAt).toISOString(),
      clientState: s.clientState ?? null,
      organizationId: this.tenantId,
    };
    void this.post(s.lifecycleUrl ?? s.notificationUrl, [n], 'lifecycle', s.id, event);
  }

  /** The validation request: the endpoint must echo the token as text/plain with 200 within 10 s. */
  private async validate(url: string): Promise<boolean> {
    const token = `Validation: Testing client application reachability for subscription Request-Id: ${this.nextId}-${Date.now()}`;
    try {
      const r = await fetch(`${url}${url.includes('?') ? '&' : '?'}validationToken=${encodeURIComponent(token)}`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain; charset=utf-8' },
        dispatcher: this.agent,
        signal: AbortSignal.timeout(10_000),
      });
      return r.status === 200 && /^text\/plain/.test(r.headers.get('content-type') ?? '') && (await r.text()) === token;
    } catch {
      return false;
    }
  }

  private async post(
    url: string,
    value: object[],
    kind: 'change' | 'lifecycle',
    subscriptionId: string,
    event?: string,
    resource?: string,
  ): Promise<number> {
    let status = 0; // no answer: the endpoint was not reached
    try {
      const r = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: JSON.stringify({ value }),
        dispatcher: this.agent,
        signal: AbortSignal.timeout(3000),
      });
      status = r.status;
      await r.body?.cancel();
    } catch {
      // status stays 0
    }
    this.posted.push({ kind, event, subscriptionId, status, ...(resource ? { resource } : {}) });
    return status;
  }
}

function maxLifetime(resource: string): number {
  return resource.startsWith('todo/') ? TODO_MAX_LIFETIME_MS : MAX_LIFETIME_MS;
}

function graphError(res: http.ServerResponse, status: number, code: string, message: string): void {
  sendJson(res, status, { error: { code, message, innerError: { date: new Date().toISOString() } } });
}

function notFound(res: http.ServerResponse): void {
  graphError(res, 404, 'ResourceNotFound', 'The object was not found.');
}
