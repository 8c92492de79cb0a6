// Change notifications for appointments, contacts and tasks: the mail notification machinery
// (mail/graph-notifications.ts, mail/ews-notifications.ts) watching the ACT folders of a mailbox,
// waking its ACT loop instead of its incoming one. As for mail a notification is only a wake-up:
// the delta queries and SyncFolderItems stay the source of truth, and ACT's own interval stays as
// the safety resync, so a lost notification costs at most one interval.
//   - Graph: one subscription per synchronized kind, on users/{id}/events, users/{id}/contacts and
//     the default To Do list's tasks (created, updated, deleted). A kind whose subscription Graph
//     refuses (To Do, say) is polled and retried later, as mail's is; the others still notify.
//   - EWS: a second subscription per mailbox, on the calendar, contacts and tasks folders (those
//     synchronized), beside the Inbox's: events on it wake ACT only, and the Inbox's wake incoming
//     only, without resolving folder ids. It shares the account's streaming connections.
// Status has no field for what wakes ACT: the state is logged (info when notifications run, warn
// when a kind falls back to polling).

import type { EmailServerProfile, Mailbox } from '../api/types.js';
import type { ActKind } from '../act/model.js';
import { EWS_ACT_FOLDERS } from '../act/exchange/ews.js';
import { GraphActAdapter } from '../act/exchange/graph.js';
import { DEFAULT_GRAPH_URL } from '../mail/graph.js';
import type { EwsNotificationAccount, EwsNotifications, EwsNotificationTarget } from '../mail/ews-notifications.js';
import type { Credentials } from '../mail/types.js';
import type { GraphApp, GraphNotifications, GraphNotificationTarget } from '../mail/graph-notifications.js';
import type { SessionWatcher } from '../sync/mailbox-syncer.js';
import { actConnection, type ActPart } from './act.js';
import type { DirectionSettings, Lookups } from './settings.js';

export type ActNotificationLog = (level: 'info' | 'warn', message: string) => void;

/** What a change notification of each kind announces, in status and log messages. */
const WHAT: Record<ActKind, string> = {
  appointment: 'a changed appointment',
  contact: 'a changed contact',
  task: 'a changed task',
};

/** Graph's longest subscription on Microsoft To Do tasks: 4,230 minutes (events and contacts allow 7 days). */
const TODO_MAX_LIFETIME_MS = 4_230 * 60_000;

/** The EWS events that mean an item changed in an ACT folder. */
const ACT_EVENTS = ['CreatedEvent', 'ModifiedEvent', 'DeletedEvent', 'MovedEvent', 'CopiedEvent'];

/** The account EWS notifications of a resolved direction use (mail's and ACT's share hubs when these match). */
export function ewsNotificationAccount(
  s: DirectionSettings,
  credentials: Credentials,
  url: string,
  version?: () => string | undefined,
): EwsNotificationAccount {
  return {
    url,
    ca: s.endpoint.ca,
    timeoutMs: s.endpoint.timeoutMs ?? 30_000,
    credentials,
    ntlm: s.authentication === 'NTLM',
    impersonate: s.impersonation,
    ...(version ? { version } : {}),
  };
}

/** The app Graph notifications of a resolved direction use (mail's and ACT's subscriptions alike). */
export function graphNotificationApp(s: DirectionSettings, token: GraphApp['tokens']): GraphApp {
  return { baseUrl: s.endpoint.url ?? DEFAULT_GRAPH_URL, ca: s.endpoint.ca, timeoutMs: s.endpoint.timeoutMs, tokens: token };
}

export interface ActWatch {
  watch(w: SessionWatcher): void;
  close(): Promise<void>;
}

/**
 * Subscribes the mailbox's ACT folders where its profile uses push notifications (not
 * `spec.incoming.notifications: Poll`); undefined when ACT is only polled.
 */
export function actNotifications(input: {
  part: ActPart;
  profile: EmailServerProfile;
  mailbox: Mailbox;
  lookups: Lookups;
  graph: GraphNotifications;
  ews: EwsNotifications;
  log: ActNotificationLog;
}): ActWatch | undefined {
  const { part, log } = input;
  if (input.profile.spec.incoming?.notifications === 'Poll' || !part.kinds.length) return undefined;
  const { s, credentials, url } = actConnection(input.profile, input.mailbox, input.lookups);
  const handles: Array<{ close(): Promise<void> }> = [];
  let closed = false;
  const reported = new Map<string, string>();
  /** Logs a kind's state when it changes (each renewal reports the same one again). */
  const report = (label: string, st: { active: boolean; message: string }) => {
    if (reported.get(label) === st.message) return;
    reported.set(label, st.message);
    log(st.active ? 'info' : 'warn', `appointments, contacts and tasks (${label}): ${st.message}`);
  };
  const keep = (h: { close(): Promise<void> }) => {
    if (closed) void h.close();
    else handles.push(h);
  };
  const close = async () => {
    closed = true;
    await Promise.all(handles.splice(0).map((h) => h.close()));
  };

  // Without the operator's public notification URL Graph cannot notify: ACT is polled, quietly (mail's status says why).
  if (s.protocol === 'Graph' && input.graph.enabled && part.exchange instanceof GraphActAdapter && credentials.kind === 'oauth2') {
    const graph = part.exchange;
    const app = graphNotificationApp(s, credentials.token);
    const watch = (w: SessionWatcher) => {
      for (const kind of part.kinds) {
        // The To Do list is found once (the ACT cycle finds it too); without one tasks are polled.
        graph.collection(kind).then(
          (resource) => {
            const target: GraphNotificationTarget = {
              resource,
              changeType: 'created,updated,deleted',
              what: WHAT[kind],
              ...(kind === 'task' ? { maxLifetimeMs: TODO_MAX_LIFETIME_MS } : {}),
            };
            if (!closed) keep(input.graph.watch(app, s.address, { wake: () => w.wake(), status: (st) => report(`${kind}s`, st) }, target));
          },
          () => report(`${kind}s`, { active: false, message: 'no collection to subscribe to (see the ACT condition); polled' }),
        );
      }
    };
    return { watch, close };
  }
  if (s.protocol === 'EWS' && url) {
    const target: EwsNotificationTarget = {
      key: 'act',
      folders: part.kinds.map((k) => EWS_ACT_FOLDERS[k].id),
      events: ACT_EVENTS,
      what: 'a changed appointment, contact or task',
    };
    const account = ewsNotificationAccount(s, credentials, url);
    const watch = (w: SessionWatcher) =>
      keep(
        input.ews.watch(
          account,
          s.address,
          { wake: () => w.wake(), status: (st) => report('EWS', { active: st.mode !== 'unavailable', message: st.message }) },
          target,
        ),
      );
    return { watch, close };
  }
  return undefined;
}
