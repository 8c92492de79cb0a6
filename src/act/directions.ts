// Which way each field flows, per kind, with Dynamics' defaults (reference act-sync.md §2): the
// fields Dynamics fixes at two-way cannot be changed (the Deployment's schema offers only the
// configurable ones), the others default to two-way and can be set to ToExchange, ToCRM or None.

import { ACT_CONFIGURABLE } from '../api/act-fields.js';
import { FIELDS, type ActKind } from './model.js';

export type FieldDirection = 'TwoWay' | 'ToExchange' | 'ToCRM' | 'None';
export const FIELD_DIRECTIONS: readonly FieldDirection[] = ['TwoWay', 'ToExchange', 'ToCRM', 'None'];

const CONFIGURABLE = ACT_CONFIGURABLE;

export type DirectionTable = Record<string, FieldDirection>;

/** The effective table of one kind: Dynamics' defaults with the Deployment's settings over them. */
export function directionTable(kind: ActKind, settings: Record<string, string | undefined> = {}): DirectionTable {
  const table: DirectionTable = {};
  for (const f of FIELDS[kind]) {
    const set = settings[f];
    table[f] =
      CONFIGURABLE[kind].includes(f) && set && (FIELD_DIRECTIONS as readonly string[]).includes(set) ? (set as FieldDirection) : 'TwoWay';
  }
  return table;
}

export const flowsToExchange = (d: FieldDirection): boolean => d === 'TwoWay' || d === 'ToExchange';
export const flowsToCrm = (d: FieldDirection): boolean => d === 'TwoWay' || d === 'ToCRM';
