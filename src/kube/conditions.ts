// metav1.Condition helpers, following cert-manager: lastTransitionTime changes only when the
// status changes, and every condition records the generation it was computed from.

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export type ConditionInput = Pick<Condition, 'type' | 'status' | 'reason'> & { message?: string };

const MAX_MESSAGE = 32768;

/** Returns a new list with `input` set; the list order of existing types is kept. */
export function setCondition(
  list: Condition[] | undefined,
  input: ConditionInput,
  generation: number | undefined,
  now = new Date(),
): Condition[] {
  const conditions = [...(list ?? [])];
  const i = conditions.findIndex((c) => c.type === input.type);
  const prev = i >= 0 ? conditions[i] : undefined;
  const next: Condition = {
    type: input.type,
    status: input.status,
    reason: input.reason,
    message: (input.message ?? '').slice(0, MAX_MESSAGE),
    lastTransitionTime: prev && prev.status === input.status ? prev.lastTransitionTime : now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
  };
  if (i >= 0) conditions[i] = next;
  else conditions.push(next);
  return conditions;
}

export function removeCondition(list: Condition[] | undefined, type: string): Condition[] {
  return (list ?? []).filter((c) => c.type !== type);
}

export function getCondition(list: Condition[] | undefined, type: string): Condition | undefined {
  return list?.find((c) => c.type === type);
}

export const isTrue = (list: Condition[] | undefined, type: string): boolean => getCondition(list, type)?.status === 'True';
