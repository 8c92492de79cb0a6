// The one rule of coexistence between Dynamics' server-side synchronization and the operator, for
// the cut-over: what "Dynamics still processes this mailbox" means for a Dataverse mailbox row,
// how a hand-over changes the row so that it stops, and when the operator runs a mailbox so that
// it may be handed over. Pure.
//
// NOTE for the lead: the Dynamics 365 connector's coexistence check (issue 14, "a mailbox Dynamics
// still processes is not enabled by the operator", expected in src/crm/dynamics-coexistence.ts)
// asks the same question of the same row. Unify the two on these functions (or move them there):
// `directionsDynamicsProcesses` is the check, `handOverChanges` the hand-over, and
// `COEXISTENCE_BLOCKED_REASON` must be the reason that check writes on the Enabled condition.
//
// The rule. A row's direction is processed by Dynamics while its delivery method for that
// direction is "Server-Side Synchronization or Email Router" (incoming and outgoing 2) or
// "Server-Side Synchronization" (appointments, contacts and tasks 1); the value means either
// product, so the rule holds whichever the organization uses (organization.emailconnectionchannel).
// The "Enabled for ..." flags are not part of it: they are the result of Dynamics' last Test and
// Enable, and a new Test and Enable in Dynamics would set them again; only the delivery method is
// the administrator's switch (Microsoft's own advice for environments that must not sync is to set
// the methods to None). A user whose incoming method is Forward Mailbox (3) is processed through
// the forward mailbox's row, which has its own methods. Handing over sets the methods the operator
// now runs to None, and nothing else.

import type { Mailbox } from '../api/types.js';
import { getCondition } from '../kube/conditions.js';
import { ACT_DELIVERY, INCOMING_DELIVERY, OUTGOING_DELIVERY } from './dataverse.js';

export type HandOverDirection = 'incoming' | 'outgoing' | 'appointmentsContactsTasks';

/** The delivery-method columns of a Dataverse mailbox row. */
export interface DeliveryMethodsRow {
  incomingemaildeliverymethod: number | null;
  outgoingemaildeliverymethod: number | null;
  actdeliverymethod: number | null;
}

const COLUMNS: Record<HandOverDirection, { column: keyof DeliveryMethodsRow; processed: number; none: number }> = {
  incoming: { column: 'incomingemaildeliverymethod', processed: INCOMING_DELIVERY.ServerSideSync, none: INCOMING_DELIVERY.None },
  outgoing: { column: 'outgoingemaildeliverymethod', processed: OUTGOING_DELIVERY.ServerSideSync, none: OUTGOING_DELIVERY.None },
  appointmentsContactsTasks: { column: 'actdeliverymethod', processed: ACT_DELIVERY.ServerSideSync, none: ACT_DELIVERY.None },
};
const DIRECTIONS = Object.keys(COLUMNS) as HandOverDirection[];

/** The reason on Enabled (False) with which the connector's coexistence check holds a mailbox Dynamics still processes. */
export const COEXISTENCE_BLOCKED_REASON = 'ProcessedByDynamics';

/** The directions Dynamics still processes for this row. */
export function directionsDynamicsProcesses(row: DeliveryMethodsRow): HandOverDirection[] {
  return DIRECTIONS.filter((d) => row[COLUMNS[d].column] === COLUMNS[d].processed);
}

/** The column values that stop Dynamics processing `directions` of this row (only columns that change). */
export function handOverChanges(row: DeliveryMethodsRow, directions: readonly HandOverDirection[]): Partial<DeliveryMethodsRow> {
  const out: Partial<DeliveryMethodsRow> = {};
  for (const d of directions) if (row[COLUMNS[d].column] === COLUMNS[d].processed) out[COLUMNS[d].column] = COLUMNS[d].none;
  return out;
}

const CONDITION: Record<HandOverDirection, string> = {
  incoming: 'IncomingEmailReady',
  outgoing: 'OutgoingEmailReady',
  appointmentsContactsTasks: 'AppointmentsContactsTasksReady',
};

/**
 * The directions the operator runs for this Mailbox, read from its status: those its spec asks for
 * (a user's mail taken in through a forward mailbox is not this mailbox's incoming) whose
 * condition is True, while the mailbox is Enabled, or held back only by the coexistence check
 * after its tests passed. Empty, with why, when it may not be handed over.
 */
export function operatorRuns(mbx: Mailbox): { directions: HandOverDirection[]; why?: string } {
  const spec = mbx.spec;
  const wanted = DIRECTIONS.filter((d) => (d === 'incoming' ? (spec.incoming ?? 'ServerSideSync') === 'ServerSideSync' : (spec[d] ?? (d === 'outgoing' ? 'ServerSideSync' : 'None')) === 'ServerSideSync'));
  const passed = wanted.filter((d) => getCondition(mbx.status?.conditions, CONDITION[d])?.status === 'True');
  const enabled = getCondition(mbx.status?.conditions, 'Enabled');
  if (enabled?.status === 'True') return passed.length ? { directions: passed } : { directions: [], why: 'no direction it runs has passed its test' };
  if (enabled?.reason === COEXISTENCE_BLOCKED_REASON && passed.length === wanted.length && passed.length) return { directions: passed };
  return { directions: [], why: `not Enabled in the operator (${enabled ? `${enabled.reason}: ${enabled.message}` : 'not tested yet'})` };
}
