// The three-way merge of one linked item: each field is compared with the snapshot (the
// fingerprints both sides last agreed on), never with last-modified times (Exchange Online bumps
// those when an item is merely opened). A field changed on one side flows to the other if its
// direction allows; a field changed on both sides to different values is a conflict, and only then
// does the Deployment's policy decide. Pure: values in, plan out.

import { flowsToCrm, flowsToExchange, type DirectionTable } from './directions.js';
import { fingerprint, type Fields, type Snapshot } from './model.js';

export type ConflictPolicy = 'CRMWins' | 'ExchangeWins';

export interface MergeInput {
  directions: DirectionTable;
  policy: ConflictPolicy;
  /** The fingerprints both sides last agreed on; undefined for a link made just now (no history). */
  base?: Snapshot;
  /** The Exchange item's fields; undefined when it is known not to have changed since `base`. */
  exchange?: Fields;
  /** The CRM record's fields; undefined when it is known not to have changed since `base`. */
  crm?: Fields;
}

export interface MergePlan {
  /** Fields to write to Exchange (new values). */
  toExchange: Fields;
  /** Fields to write to the CRM (new values). */
  toCrm: Fields;
  /** Fields changed on both sides to different values since the snapshot; the policy decided them. */
  conflicts: string[];
  /** The snapshot to store once the writes succeeded. */
  snapshot: Snapshot;
}

export function merge(input: MergeInput): MergePlan {
  const { directions, policy, base, exchange, crm } = input;
  const plan: MergePlan = { toExchange: {}, toCrm: {}, conflicts: [], snapshot: {} };
  for (const [field, direction] of Object.entries(directions)) {
    const hb = base?.[field];
    // A side not given is unchanged since the snapshot; without a snapshot both must be given.
    const hx = exchange ? fingerprint(exchange[field]) : hb;
    const hc = crm ? fingerprint(crm[field]) : hb;
    if (hx === hc) {
      if (hx !== undefined) plan.snapshot[field] = hx;
      continue;
    }
    // A field the snapshot does not know yet (added to the model since the link was made, as the
    // series fields were): a side "changed" it only if it has a value, so Exchange's existing time
    // zone is taken into a CRM that never had one, instead of being overwritten (and mailed) by the
    // CRM's empty value.
    const fresh = base !== undefined && hb === undefined;
    const exChanged = fresh ? exchange?.[field] != null : hb === undefined || hx !== hb;
    const crChanged = fresh ? crm?.[field] != null : hb === undefined || hc !== hb;
    const toEx = flowsToExchange(direction) && crm !== undefined;
    const toCrm = flowsToCrm(direction) && exchange !== undefined;
    let winner: 'crm' | 'exchange' | undefined;
    if (crChanged && !exChanged) winner = toEx ? 'crm' : undefined;
    else if (exChanged && !crChanged) winner = toCrm ? 'exchange' : undefined;
    else if (toEx && toCrm) {
      winner = policy === 'CRMWins' ? 'crm' : 'exchange';
      // Without a snapshot there is no history to disagree with: a first link, not a conflict.
      if (hb !== undefined) plan.conflicts.push(field);
    } else winner = toEx ? 'crm' : toCrm ? 'exchange' : undefined;

    if (winner === 'crm') {
      plan.toExchange[field] = crm![field];
      plan.snapshot[field] = hc!;
    } else if (winner === 'exchange') {
      plan.toCrm[field] = exchange![field];
      plan.snapshot[field] = hx!;
    } else {
      // Nothing flows: keep the fingerprint of the side that may flow later, so its next change
      // is seen as a change and the other side's is not.
      plan.snapshot[field] = (direction === 'ToCRM' ? hx : direction === 'ToExchange' ? hc : (hb ?? hc ?? hx))!;
    }
  }
  return plan;
}

export const isEmpty = (f: Fields): boolean => Object.keys(f).length === 0;
