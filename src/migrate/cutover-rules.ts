// The one rule of coexistence between Dynamics' server-side synchronization and the operator, for
// the cut-over: what "Dynamics still processes this mailbox" means for a Dataverse mailbox row,
// how a hand-over changes the row so that it stops, and when the operator runs a mailbox so that
// it may be handed over. Pure.
//
// The rule itself is the Dynamics 365 connector's (src/crm/dynamics-coexistence.ts), so that the
// cut-over and the connector's Test and Enable gate never disagree: this module only names it for
// the importer and adds what the cut-over needs on top (which directions the operator runs).
//
// The rule, in short: a direction is processed by Dynamics while its row is active, its delivery
// method is Dynamics' own (server-side synchronization or Email Router; for incoming also Forward
// Mailbox, whose messages the forward mailbox's row takes in) and Dynamics' Test and Enable left it
// enabled. Handing over sets every such delivery method the operator now runs to None, enabled or
// not, and nothing else.

import type { Mailbox } from '../api/types.js';
import { getCondition } from '../kube/conditions.js';
import { handOverChanges as connectorHandOver, processedByDynamics } from '../crm/dynamics-coexistence.js';

export type HandOverDirection = 'incoming' | 'outgoing' | 'appointmentsContactsTasks';

/** The delivery-method columns of a Dataverse mailbox row. */
export interface DeliveryMethodsRow {
  incomingemaildeliverymethod: number | null;
  outgoingemaildeliverymethod: number | null;
  actdeliverymethod: number | null;
}

const DIRECTIONS: HandOverDirection[] = ['incoming', 'outgoing', 'appointmentsContactsTasks'];

/** The reason on Enabled (False) with which the connector's coexistence check holds a mailbox Dynamics still processes. */
export const COEXISTENCE_BLOCKED_REASON = 'ProcessedByDynamics';

/** The directions Dynamics still processes for this row. */
export function directionsDynamicsProcesses(row: DeliveryMethodsRow): HandOverDirection[] {
  return processedByDynamics(row, DIRECTIONS).processedByDynamics;
}

/** The column values that stop Dynamics processing `directions` of this row (only columns that change). */
export function handOverChanges(row: DeliveryMethodsRow, directions: readonly HandOverDirection[]): Partial<DeliveryMethodsRow> {
  return connectorHandOver(row, directions);
}

const CONDITION: Record<HandOverDirection, string> = {
  incoming: 'IncomingEmailReady',
  outgoing: 'OutgoingEmailReady',
  appointmentsContactsTasks: 'AppointmentsContactsTasksReady',
};

/** The directions this Mailbox's spec asks the operator to run (a user's mail taken in through a forward mailbox is not this mailbox's incoming). */
function wantedDirections(mbx: Mailbox): HandOverDirection[] {
  const spec = mbx.spec;
  return DIRECTIONS.filter((d) =>
    d === 'incoming'
      ? (spec.incoming ?? 'ServerSideSync') === 'ServerSideSync'
      : (spec[d] ?? (d === 'outgoing' ? 'ServerSideSync' : 'None')) === 'ServerSideSync',
  );
}

const conditionOf = (mbx: Mailbox, d: HandOverDirection) => getCondition(mbx.status?.conditions, CONDITION[d]);

/**
 * The directions the connector's coexistence gate holds back: it runs after a direction's test
 * passed, so such a direction works in the operator and waits for Dynamics to let go (and for a
 * test once it has: the gate's outcome is permanent).
 */
export function heldByCoexistence(mbx: Mailbox): HandOverDirection[] {
  return wantedDirections(mbx).filter((d) => conditionOf(mbx, d)?.reason === COEXISTENCE_BLOCKED_REASON);
}

/**
 * The directions the operator runs for this Mailbox, read from its status: those its spec asks for
 * whose condition is True, while the mailbox is Enabled, or held back only by the coexistence check
 * after its tests passed. Empty, with why, when it may not be handed over.
 */
export function operatorRuns(mbx: Mailbox): { directions: HandOverDirection[]; why?: string } {
  const wanted = wantedDirections(mbx);
  const passed = wanted.filter((d) => conditionOf(mbx, d)?.status === 'True');
  const held = heldByCoexistence(mbx);
  const enabled = getCondition(mbx.status?.conditions, 'Enabled');
  const mayRun = enabled?.status === 'True' || enabled?.reason === COEXISTENCE_BLOCKED_REASON; // not awaiting approval, denied or suspended
  if (mayRun && held.length && passed.length + held.length === wanted.length) return { directions: wanted };
  if (enabled?.status === 'True')
    return passed.length ? { directions: passed } : { directions: [], why: 'no direction it runs has passed its test' };
  return { directions: [], why: `not Enabled in the operator (${enabled ? `${enabled.reason}: ${enabled.message}` : 'not tested yet'})` };
}
