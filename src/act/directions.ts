// Which way each field flows, per kind, with Dynamics' defaults (reference act-sync.md §2): the
// fields Dynamics fixes at two-way cannot be changed (the Deployment's schema offers only the
// configurable ones), the others default to two-way and can be set to ToExchange, ToCRM or None.

import { FIELDS, type ActKind } from './model.js';

export type FieldDirection = 'TwoWay' | 'ToExchange' | 'ToCRM' | 'None';
export const FIELD_DIRECTIONS: readonly FieldDirection[] = ['TwoWay', 'ToExchange', 'ToCRM', 'None'];

/** Fields Dynamics synchronizes two-way always (appointment time, importance, attendees, organizer, show-as; task importance and status). */
export const FIXED_TWO_WAY: Record<ActKind, readonly string[]> = {
  appointment: ['start', 'end', 'isAllDay', 'importance', 'showAs', 'organizer', 'requiredAttendees', 'optionalAttendees'],
  contact: [],
  task: ['importance', 'status'],
};

/** Fields whose direction the Deployment may set. */
export const CONFIGURABLE: Record<ActKind, readonly string[]> = {
  appointment: FIELDS.appointment.filter((f) => !FIXED_TWO_WAY.appointment.includes(f)),
  contact: FIELDS.contact,
  task: FIELDS.task.filter((f) => !FIXED_TWO_WAY.task.includes(f)),
};

export type DirectionTable = Record<string, FieldDirection>;

/** The effective table of one kind: Dynamics' defaults with the Deployment's settings over them. */
export function directionTable(kind: ActKind, settings: Record<string, string | undefined> = {}): DirectionTable {
  const table: DirectionTable = {};
  for (const f of FIELDS[kind]) {
    const set = settings[f];
    table[f] = CONFIGURABLE[kind].includes(f) && set && (FIELD_DIRECTIONS as readonly string[]).includes(set) ? (set as FieldDirection) : 'TwoWay';
  }
  return table;
}

export const flowsToExchange = (d: FieldDirection): boolean => d === 'TwoWay' || d === 'ToExchange';
export const flowsToCrm = (d: FieldDirection): boolean => d === 'TwoWay' || d === 'ToCRM';
