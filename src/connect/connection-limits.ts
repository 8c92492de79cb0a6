// The profile's maxConcurrentConnections as connection slots (mail/connection-slots.ts): per server
// and authenticated identity, as Dynamics counts it ("per authenticated user": per mailbox with the
// mailbox's own credentials, per profile with the profile's). A mailbox's own identity is used by
// the one worker that syncs it; a profile's shared identity by every worker, so each holds its
// share: the limit divided by the live workers, at least one.

import type { SlotClaim } from '../mail/connection-slots.js';
import type { DirectionSettings } from './settings.js';

/** The slots of one direction's connections; the share follows the live workers as they come and go. */
export function slotClaim(s: DirectionSettings, liveWorkers: () => number = () => 1): SlotClaim {
  const identity = (s.credentials?.username ?? s.oauth?.clientId ?? s.address).toLowerCase();
  const server = s.endpoint.url ?? `${s.endpoint.host}:${s.endpoint.port}`;
  return {
    key: `${server} ${identity}`,
    get limit() {
      return s.sharedCredentials ? Math.max(1, Math.floor(s.maxConnections / Math.max(1, liveWorkers()))) : s.maxConnections;
    },
  };
}

/** Slots for a direction's settings. */
export type SlotsOf = (s: DirectionSettings) => SlotClaim;
