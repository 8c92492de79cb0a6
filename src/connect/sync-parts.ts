// Builds the parts a mailbox's sync loops run on from the API objects: the incoming source (IMAP
// session with IDLE, POP3), the outgoing sender (SMTP, EWS, Graph) and the CRM connector. The
// only module that knows both the sync pipelines and the protocol adapters.

import { incomingStart } from '../api/incoming-start.js';
import { durationMs, quantityBytes } from '../api/quantities.js';
import { retryPolicyOf, type RetryPolicy } from '../api/retry-policy.js';
import type { Deployment, EmailServerProfile, Mailbox } from '../api/types.js';
import { createConnector } from '../crm/factory.js';
import type { CrmConnector } from '../crm/types.js';
import { composeMime } from '../mail/compose.js';
import { classifyError } from '../mail/errors.js';
import { ImapSession } from '../mail/imap.js';
import { redact } from '../util/redact.js';
import { MailError, type Credentials, type OutgoingMessage } from '../mail/types.js';
import { EwsNotifications, type EwsNotificationOptions } from '../mail/ews-notifications.js';
import { Pop3Adapter } from '../mail/pop3.js';
import { SmtpAdapter } from '../mail/smtp.js';
import { GraphAdapter } from '../mail/graph.js';
import { GraphNotifications, type GraphNotificationOptions } from '../mail/graph-notifications.js';
import { clientCredentials } from '../mail/oauth.js';
import type { SecretSource } from '../domain/secret-source.js';
import type { SessionWatcher, SyncParts } from '../sync/mailbox-syncer.js';
import { ImapSource, PolledImapSource } from '../sync/sources/imap-source.js';
import type { Pacer } from '../util/pacer.js';
import { Pop3Source } from '../sync/sources/pop3-source.js';
import { ChangeFeedSource } from '../sync/sources/change-feed.js';
import type { FilteringMethod } from '../sync/filter.js';
import type { Forwarder } from '../sync/incoming.js';
import type { MessageParser } from '../sync/parser-pool.js';
import { PendingFeed } from '../sync/pending-feed.js';
import { DEFAULT_TOKEN, type TokenSettings } from '../sync/tracking-token.js';
import type { SyncPartsFactory, SyncPlanInput } from '../sync/worker.js';
import { resolveDirection, revisionOf, type DirectionSettings } from './settings.js';
import { slotClaim, type SlotsOf } from './connection-limits.js';
import { credentialsFor, ewsAdapterFor } from './testers.js';
import { actSyncPart } from './act-sync-part.js';
import { actNotifications, ewsNotificationAccount, graphNotificationApp } from './act-notifications.js';

type Debug = (message: string, fields?: Record<string, unknown>) => void;

export interface SyncPartsOptions {
  /** How often the outgoing loop asks the CRM for emails pending send. */
  outgoingPollMs?: number;
  /** Overrides the profile's minPollingInterval and maxPollingInterval: a fixed interval (tests). */
  pollIntervalMs?: number;
  /** Overrides ACT's adaptive interval: a fixed one (tests: long, so only a notification can explain a quick cycle). */
  actIntervalMs?: number;
  /** Paces the sign-ins of every mailbox of the process (IMAP sessions, POP3 cycles). */
  pacer?: Pacer;
  /** EWS notification settings (tests shorten the retries); notifications are always on for Push profiles. */
  ews?: EwsNotificationOptions;
  /** Graph change notifications: the public notification URL (off without one) and timings. */
  graph?: GraphNotificationOptions;
  /** Where incoming MIME is parsed (the process's thread pool); inline when absent. */
  parser?: MessageParser;
}

export function tokenSettings(d: Deployment): TokenSettings {
  const t = d.spec.trackingToken ?? {};
  return {
    enabled: t.enabled ?? DEFAULT_TOKEN.enabled,
    prefix: t.prefix ?? DEFAULT_TOKEN.prefix,
    deploymentBase: t.deploymentBase ?? DEFAULT_TOKEN.deploymentBase,
    userDigits: t.userDigits ?? DEFAULT_TOKEN.userDigits,
    counterDigits: t.counterDigits ?? DEFAULT_TOKEN.counterDigits,
  };
}

/**
 * One connector per Deployment, for its current configuration (URL, Secret and CA versions),
 * shared by its mailboxes. A changed configuration replaces the Deployment's connector: syncers
 * still holding the old one finish with it, and nothing keeps it alive after them.
 */
export class ConnectorCache {
  private readonly connectors = new Map<string, { key: string; connector: CrmConnector }>();

  /** Deployments with a connector (tests). */
  get size(): number {
    return this.connectors.size;
  }

  get(deployment: Deployment, lookups: SecretSource): CrmConnector {
    const crm = deployment.spec.crm;
    const secret = crm.credentialsSecretRef ? lookups.secret(crm.credentialsSecretRef.name) : undefined;
    if (crm.credentialsSecretRef && !secret)
      throw new Error(`Secret "${crm.credentialsSecretRef.name}" (spec.crm.credentialsSecretRef) not found`);
    const caRef = crm.caBundle?.secretRef ?? crm.caBundle?.configMapRef;
    const caSrc = caRef ? (crm.caBundle?.secretRef ? lookups.secret(caRef.name) : lookups.configMap(caRef.name)) : undefined;
    const ca = caRef ? caSrc?.data[caRef.key ?? 'ca.crt'] : undefined;
    const key = revisionOf([deployment.metadata.uid, crm, secret?.resourceVersion, caSrc?.resourceVersion]);
    const owner = deployment.metadata.uid ?? `${deployment.metadata.namespace}/${deployment.metadata.name}`;
    const held = this.connectors.get(owner);
    if (held?.key === key) return held.connector;
    const serviceAccountToken = lookups.serviceAccountToken?.bind(lookups);
    const connector = createConnector(crm, secret?.data ?? {}, {
      ca,
      timeoutMs: durationMs(crm.timeout, 30_000),
      tokenSource: clientCredentials,
      ...(serviceAccountToken ? { serviceAccountToken } : {}),
    });
    this.connectors.set(owner, { key, connector });
    return connector;
  }
}

/** What status says of a profile that asks for polling. */
const POLL_CHOSEN = {
  method: 'Polling' as const,
  message: 'spec.incoming.notifications is Poll: polled between minPollingInterval and maxPollingInterval',
};

/**
 * Starts a notification subscription once the syncer watches, retrying the setup (an Autodiscover
 * that failed, say) every few minutes meanwhile; close() ends it.
 */
function subscribeLater(start: (w: SessionWatcher) => Promise<{ close(): Promise<void> }>): {
  watch(w: SessionWatcher): void;
  close(): Promise<void>;
} {
  let handle: { close(): Promise<void> } | undefined;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  const attempt = (w: SessionWatcher) => {
    start(w).then(
      async (h) => {
        if (closed) await h.close();
        else handle = h;
      },
      (err: unknown) => {
        if (closed) return;
        w.notifications?.({
          method: 'Polling',
          message: `notifications could not be set up (${err instanceof MailError ? err.message : 'unexpected error'}); polled meanwhile, tried again in a few minutes`,
          fallback: true,
        });
        timer = setTimeout(() => attempt(w), 5 * 60_000);
        timer.unref();
      },
    );
  };
  return {
    watch: attempt,
    close: async () => {
      closed = true;
      if (timer) clearTimeout(timer);
      await handle?.close();
    },
  };
}

/** The Deployment's incoming filtering for mailboxes of users or of queues (Dynamics' defaults: FromCRMRecords, All). */
export function filteringFor(deployment: Deployment, kind: 'User' | 'Queue'): FilteringMethod {
  return (
    kind === 'Queue' ? (deployment.spec.incomingFiltering?.queues ?? 'All') : (deployment.spec.incomingFiltering?.users ?? 'FromCRMRecords')
  ) as FilteringMethod;
}

/** A forwarding Mailbox as the incoming pipeline attributes a forwarded message to it. */
function forwarderOf(m: Mailbox | undefined, deployment: Deployment): Forwarder | undefined {
  if (!m?.spec.owner) return undefined;
  const { kind, name } = m.spec.owner;
  return {
    key: `${m.metadata.namespace}/${m.metadata.name}`,
    address: m.spec.emailAddress,
    ownerKind: kind,
    ownerName: name,
    filtering: filteringFor(deployment, kind),
  };
}

/**
 * An Exchange folder as a change feed: EWS SyncFolderItems or a Graph delta query. The inbox's can
 * also delete and move what it read (deleteAfterProcessing, moveFailedToUndeliverable).
 */
function exchangeFeed(
  s: DirectionSettings,
  credentials: Credentials,
  folder: 'inbox' | 'sentitems',
  slots: SlotsOf,
  receivedAfter?: Date,
): ChangeFeedSource {
  if (s.protocol === 'EWS') {
    const ews = ewsAdapterFor(s, credentials, slots(s));
    return new ChangeFeedSource(
      {
        changes: async (state) => {
          const r = await ews.syncFolderItems(state, undefined, folder === 'inbox' ? 'Inbox' : 'SentItems');
          return { created: r.created, receivedAt: r.receivedAt, state: r.syncState };
        },
        mime: (id) => ews.getMime(id),
        ...(folder === 'inbox'
          ? { remove: (id: string) => ews.deleteItem(id), moveTo: (id: string, to: string) => ews.moveToFolder(id, to) }
          : {}),
      },
      { receivedAfter },
    );
  }
  const graph = new GraphAdapter(s.endpoint, credentials, { mailbox: s.address, slots: slots(s) });
  return new ChangeFeedSource(
    {
      changes: async (state) => {
        const r = await graph.delta(folder, state);
        return { created: r.messages, receivedAt: r.receivedAt, state: r.nextDeltaLink };
      },
      mime: (id) => graph.getMime(id),
      ...(folder === 'inbox'
        ? { remove: (id: string) => graph.deleteMessage(id), moveTo: (id: string, to: string) => graph.moveToFolder(id, to) }
        : {}),
    },
    { receivedAfter },
  );
}

/**
 * An IMAP session reporting to the incoming direction: new mail and every (re)connect wake it, and
 * every failed attempt and drop is reported as it happens (the direction's health decides what it
 * means); reconnects stay within seconds while the budget lasts.
 */
function watchedSession(
  s: DirectionSettings,
  credentials: Credentials,
  opts: { retry: RetryPolicy; debug: Debug; slots: SlotsOf; sentFolder?: boolean },
): { session: ImapSession; watch: (w: SessionWatcher) => void } {
  let watcher: SessionWatcher | undefined;
  const session = new ImapSession(s.endpoint, credentials, {
    ...(opts.sentFolder ? { sentFolder: true } : {}),
    onExists: () => watcher?.wake(),
    onConnected: () => watcher?.wake(),
    onError: (err) => watcher?.failed(err),
    backoff: { maxMs: opts.retry.reconnectMaxMs },
    debug: opts.debug,
    slots: opts.slots(s),
  });
  return { session, watch: (w) => (watcher = w) };
}

/** What the incoming and outgoing parts of one mailbox share. */
interface Shared {
  /** The incoming IMAP session, when the mailbox reads over IMAP. */
  imap?: ImapSession;
}

interface SentFolder {
  save(msg: OutgoingMessage): Promise<void>;
  close(): Promise<void>;
}

/**
 * Saves sent messages in the mailbox's Sent folder over IMAP: on the incoming session, or on a
 * session of its own opened at the first send. The email was sent whatever happens here, so a
 * failure is logged, never reported as a failed send.
 */
function sentFolder(
  shared: Shared,
  incoming: () => DirectionSettings,
  debug: Debug,
  logger: SyncPlanInput['logger'],
  slots: SlotsOf,
): SentFolder {
  let own: ImapSession | undefined;
  return {
    async save(msg) {
      try {
        const session = shared.imap ?? (own ??= openSession(incoming(), debug, slots));
        await session.appendToSent(await composeMime(msg, { keepBcc: true }));
        debug(`IMAP: saved ${msg.messageId} in the Sent folder`);
      } catch (err) {
        const e = classifyError(err);
        logger?.warn(
          { reason: e.reason, messageId: msg.messageId },
          `sent, but the copy could not be saved in the Sent folder: ${redact(e.message)}`,
        );
      }
    },
    close: async () => own?.close(),
  };
}

function openSession(s: DirectionSettings, debug: Debug, slots: SlotsOf): ImapSession {
  return new ImapSession(s.endpoint, requireCredentials(s), { debug, slots: slots(s) });
}

/** The direction's credentials, or the error that names the missing combination. */
function requireCredentials(s: DirectionSettings): Credentials {
  const credentials = credentialsFor(s);
  if (!credentials) throw new Error(`${s.authentication} is not available for ${s.protocol}`);
  return credentials;
}

export class ConnectSyncParts implements SyncPartsFactory {
  readonly connectors = new ConnectorCache();
  /** Every EWS mailbox's notifications: mailboxes of one account share streaming connections. */
  readonly ewsNotifications: EwsNotifications;
  /** Every Graph mailbox's subscription; the notification endpoint hands it what Graph posts. */
  readonly graphNotifications: GraphNotifications;
  /** One pending-send feed per connector, that is per Deployment configuration (pending-feed.ts). */
  private readonly feeds = new WeakMap<CrmConnector, PendingFeed>();

  constructor(private readonly opts: SyncPartsOptions = {}) {
    this.ewsNotifications = new EwsNotifications(opts.ews);
    this.graphNotifications = new GraphNotifications(opts.graph);
  }

  async create(w: SyncPlanInput): Promise<SyncParts> {
    const { mailbox: m, profile, deployment } = w;
    const settings = (dir: 'incoming' | 'outgoing'): DirectionSettings => {
      const r = resolveDirection({ name: profile.metadata.name, spec: profile.spec }, m.spec, dir, w.lookups);
      if (!r.ok) throw new Error(r.message);
      return r.value;
    };
    const crm = this.connectors.get(deployment, w.lookups);
    const owner = m.spec.owner;
    const forwarders = w.forwarders;
    const limits = [
      quantityBytes(deployment.spec.maxAttachmentSize, 5 * 1024 * 1024),
      quantityBytes(profile.spec.maxAttachmentSize, Number.MAX_SAFE_INTEGER),
    ];
    const parts: SyncParts = {
      mailbox: {
        key: `${m.metadata.namespace}/${m.metadata.name}`,
        address: m.spec.emailAddress,
        ...(owner ? { ownerKind: owner.kind, ownerName: owner.name } : {}),
        forwardMailbox: m.spec.forwardMailbox ?? false,
        ...(forwarders ? { forwarder: (address: string) => forwarderOf(forwarders(address), deployment) } : {}),
        deleteAfterProcessing: m.spec.deleteAfterProcessing ?? false,
        filtering: filteringFor(deployment, owner?.kind ?? 'User'),
        correlation: deployment.spec.correlation?.enabled ?? true,
        token: tokenSettings(deployment),
        maxAttachmentBytes: Math.min(...limits),
        moveFailedToUndeliverable: profile.spec.moveFailedToUndeliverable ?? false,
        processEmailReceivedAfter: incomingStart({
          profile: profile.spec,
          mailbox: m.spec,
          deployment: deployment.spec,
          firstSuccessfulTestTime: m.status?.firstSuccessfulTestTime,
        })?.after,
        ...(deployment.spec.internalEmail?.ignore && w.isInternal
          ? {
              internalEmail: { ignore: true, trackToQueues: deployment.spec.internalEmail.trackToQueues ?? true, isInternal: w.isInternal },
            }
          : {}),
      },
      outgoingMailbox: {
        key: `${m.metadata.namespace}/${m.metadata.name}`,
        address: m.spec.emailAddress,
        sendMode: profile.spec.outgoing?.sendMode ?? 'SendAs',
        token: tokenSettings(deployment),
      },
      crm,
      ...this.cadence(profile),
      outgoingIntervalMs: this.opts.outgoingPollMs ?? 30_000,
      retry: retryPolicyOf(deployment.spec.retryPolicy),
      ...(this.opts.parser ? { parser: this.opts.parser } : {}),
    };
    // Protocol detail at debug level, through the mailbox's logger (it redacts registered secrets).
    const debug: Debug = w.logger ? (message, fields) => w.logger!.debug(fields ?? {}, message) : () => undefined;
    const shared: Shared = {};
    // Connections per server and identity (maxConcurrentConnections), shared with the other workers.
    const slots: SlotsOf = (s) => slotClaim(s, w.liveWorkers);
    const receivedAfter = parts.mailbox.processEmailReceivedAfter;
    if (w.incoming) {
      parts.incoming = this.incoming(settings('incoming'), profile.spec.incoming, parts.retry!, debug, shared, slots, receivedAfter);
      // Sent Items as a second incoming source (not for POP3, which has no folders, nor a forward mailbox).
      const inbox = parts.incoming!;
      if (deployment.spec.trackSentItems && !m.spec.forwardMailbox)
        Object.assign(
          inbox,
          this.sentItems(settings('incoming'), parts.retry!, debug, { close: inbox.close, watch: inbox.watch }, slots, receivedAfter),
        );
    }
    if (w.outgoing) {
      // IMAP profiles: SMTP keeps no copy, so the operator saves one in the Sent folder over IMAP,
      // on the incoming session when there is one.
      const saveSent = profile.spec.serverType === 'IMAP' && profile.spec.outgoing?.saveToSentFolder !== false;
      parts.outgoing = this.outgoing(
        settings('outgoing'),
        debug,
        slots,
        saveSent ? sentFolder(shared, () => settings('incoming'), debug, w.logger, slots) : undefined,
      );
      parts.pendingFeed = this.feedFor(crm);
    }
    if (w.act)
      parts.act = actSyncPart(
        {
          mailbox: m,
          profile,
          deployment,
          lookups: w.lookups,
          crm,
          notifications: (part) =>
            actNotifications({
              part,
              profile,
              mailbox: m,
              lookups: w.lookups,
              graph: this.graphNotifications,
              ews: this.ewsNotifications,
              log: (level, message) => w.logger?.[level](message),
            }),
        },
        this.opts.actIntervalMs,
      );
    return parts;
  }

  private feedFor(crm: CrmConnector): PendingFeed {
    let feed = this.feeds.get(crm);
    if (!feed) {
      feed = new PendingFeed(crm, { intervalMs: this.opts.outgoingPollMs ?? 30_000 });
      this.feeds.set(crm, feed);
    }
    return feed;
  }

  /** The safety resync (or poll) bounds: the profile's, or the fixed interval of --poll-interval. */
  private cadence(profile: EmailServerProfile): Pick<SyncParts, 'pollIntervalMs' | 'maxPollIntervalMs'> {
    if (this.opts.pollIntervalMs !== undefined)
      return { pollIntervalMs: this.opts.pollIntervalMs, maxPollIntervalMs: this.opts.pollIntervalMs };
    const min = durationMs(profile.spec.minPollingInterval, 5 * 60_000);
    return { pollIntervalMs: min, maxPollIntervalMs: Math.max(min, durationMs(profile.spec.maxPollingInterval, 15 * 60_000)) };
  }

  private incoming(
    s: DirectionSettings,
    spec: EmailServerProfile['spec']['incoming'],
    retry: RetryPolicy,
    debug: Debug,
    shared: Shared,
    slots: SlotsOf,
    receivedAfter?: Date,
  ): SyncParts['incoming'] {
    const credentials = requireCredentials(s);
    const push = spec?.notifications !== 'Poll';
    const paced = <T>(task: () => Promise<T>) => (this.opts.pacer ? this.opts.pacer.run(task) : task());
    switch (s.protocol) {
      case 'IMAP': {
        const options = {
          backoff: { maxMs: retry.reconnectMaxMs },
          debug,
          compress: spec?.compress ?? false,
          slots: slots(s),
          ...(this.opts.pacer ? { pacer: this.opts.pacer } : {}),
        };
        if (!push) {
          // A session per cycle: failures fail the cycle, nothing stays connected in between.
          const source = new PolledImapSource(() => new ImapSession(s.endpoint, credentials, { ...options, backoff: { maxMs: 1000 } }));
          const polled = {
            method: 'Polling' as const,
            message: 'spec.incoming.notifications is Poll: signs in for each poll and holds no connection in between',
          };
          return { source, watch: (w) => w.notifications?.(polled), close: async () => undefined };
        }
        let watcher: SessionWatcher | undefined;
        let announced = false;
        // Every failed attempt and every drop is reported as it happens (the direction's health
        // decides what it means), and reconnects stay within seconds while the budget lasts.
        const session = new ImapSession(s.endpoint, credentials, {
          ...options,
          onExists: () => watcher?.wake(),
          onConnected: () => {
            if (!announced && watcher?.notifications) {
              announced = true;
              watcher.notifications({
                method: 'IMAPIdle',
                message: `IMAP IDLE on ${s.endpoint.host}:${s.endpoint.port}: new mail wakes the mailbox within about a second`,
              });
            }
            watcher?.wake();
          },
          onError: (err) => watcher?.failed(err),
        });
        shared.imap = session;
        return {
          source: new ImapSource(session),
          watch: (w) => (watcher = w),
          refresh: () => session.refresh(),
          close: () => session.close(),
        };
      }
      case 'POP3': {
        const adapter = new Pop3Adapter(s.endpoint, credentials);
        const open = async () => {
          const client = await paced(() => adapter.open());
          debug(`POP3 ${s.endpoint.host}:${s.endpoint.port}: logged in as ${s.credentials?.username ?? s.address}`);
          return client;
        };
        const polled = {
          method: 'Polling' as const,
          message: 'POP3 has no push notifications: polled between minPollingInterval and maxPollingInterval',
        };
        return { source: new Pop3Source(open), watch: (w) => w.notifications?.(polled), close: async () => undefined };
      }
      case 'EWS': {
        const feed = exchangeFeed(s, credentials, 'inbox', slots, receivedAfter);
        if (!push) return { source: feed, watch: (w) => w.notifications?.(POLL_CHOSEN), close: async () => undefined };
        const ews = ewsAdapterFor(s, credentials, slots(s));
        const account = (url: string) => ewsNotificationAccount(s, credentials, url, () => ews.requestServerVersion);
        const watching = subscribeLater((w) =>
          ews.serviceUrl().then((url) =>
            this.ewsNotifications.watch(account(url), s.address, {
              wake: () => w.wake(),
              status: (st) =>
                w.notifications?.({
                  method: st.mode === 'streaming' ? 'EWSStreaming' : st.mode === 'pull' ? 'EWSPull' : 'Polling',
                  message: st.message,
                  fallback: st.mode === 'unavailable',
                }),
            }),
          ),
        );
        return { source: feed, watch: watching.watch, close: watching.close };
      }
      case 'Graph': {
        const feed = exchangeFeed(s, credentials, 'inbox', slots, receivedAfter);
        if (!push || credentials.kind !== 'oauth2')
          return { source: feed, watch: (w) => w.notifications?.(POLL_CHOSEN), close: async () => undefined };
        const app = graphNotificationApp(s, credentials.token);
        let handle: { close(): Promise<void> } | undefined;
        const watch = (w: SessionWatcher) => {
          handle = this.graphNotifications.watch(app, s.address, {
            wake: () => w.wake(),
            status: (st) =>
              w.notifications?.({ method: st.active ? 'GraphChangeNotifications' : 'Polling', message: st.message, fallback: st.fallback }),
          });
        };
        return { source: feed, watch, close: async () => handle?.close() };
      }
      default:
        throw new Error(`incoming sync over ${s.protocol} is not supported`);
    }
  }

  /** The mailbox's Sent Items as an incoming source, closed with the inbox's. */
  private sentItems(
    s: DirectionSettings,
    retry: RetryPolicy,
    debug: Debug,
    inbox: Pick<NonNullable<SyncParts['incoming']>, 'close' | 'watch'>,
    slots: SlotsOf,
    receivedAfter?: Date,
  ): Partial<NonNullable<SyncParts['incoming']>> {
    const credentials = requireCredentials(s);
    switch (s.protocol) {
      case 'IMAP': {
        // New sent mail (IDLE on the Sent folder) wakes the incoming direction as new inbox mail does.
        const { session, watch } = watchedSession(s, credentials, { retry, debug, slots, sentFolder: true });
        return {
          sentItems: new ImapSource(session),
          watch: (w) => {
            inbox.watch?.(w);
            watch(w);
          },
          close: async () => void (await Promise.all([inbox.close(), session.close()])),
        };
      }
      case 'EWS':
      case 'Graph':
        return { sentItems: exchangeFeed(s, credentials, 'sentitems', slots, receivedAfter) };
      default:
        return {};
    }
  }

  private outgoing(s: DirectionSettings, debug: Debug, slots: SlotsOf, sent?: SentFolder): SyncParts['outgoing'] {
    const credentials = requireCredentials(s);
    switch (s.protocol) {
      case 'SMTP': {
        const smtp = new SmtpAdapter(s.endpoint, credentials, { maxConnections: 2, slots: slots(s) });
        const sender = {
          send: async (msg: OutgoingMessage) => {
            const id = await smtp.send(msg);
            debug(`SMTP ${s.endpoint.host}:${s.endpoint.port}: accepted ${id}`, {
              recipients: msg.to.length + (msg.cc?.length ?? 0) + (msg.bcc?.length ?? 0),
            });
            await sent?.save(msg);
            return id;
          },
        };
        return {
          sender,
          close: async () => {
            smtp.close();
            await sent?.close();
          },
        };
      }
      case 'EWS': {
        const ews = ewsAdapterFor(s, credentials, slots(s));
        return { sender: ews, close: async () => undefined };
      }
      case 'Graph': {
        const graph = new GraphAdapter(s.endpoint, credentials, { mailbox: s.address, slots: slots(s) });
        return { sender: graph, close: async () => undefined };
      }
      default:
        throw new Error(`outgoing mail over ${s.protocol} is not supported`);
    }
  }
}
