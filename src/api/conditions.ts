// metav1.Condition bookkeeping, kstatus style: `Ready` always present; `Reconciling` and `Stalled` present only
// while True (Flux's abnormal-true convention). lastTransitionTime changes only when a condition's status flips.

import type { Condition } from './types.ts';

export type ConditionType = 'Ready' | 'Reconciling' | 'Stalled';

export interface ConditionInput {
  readonly type: ConditionType;
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason: string;
  readonly message: string;
}

const REASON = /^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/;
const MAX_MESSAGE = 32_768;

export function setConditions(existing: readonly Condition[] | undefined, wanted: readonly ConditionInput[], generation: number, now: string): Condition[] {
  const out: Condition[] = [];
  for (const input of wanted) {
    if (!REASON.test(input.reason)) throw new Error(`condition reason "${input.reason}" is not CamelCase`);
    const before = existing?.find((c) => c.type === input.type);
    out.push({
      type: input.type,
      status: input.status,
      observedGeneration: generation,
      lastTransitionTime: before && before.status === input.status ? before.lastTransitionTime : now,
      reason: input.reason,
      message: input.message.length > MAX_MESSAGE ? `${input.message.slice(0, MAX_MESSAGE - 1)}…` : input.message,
    });
  }
  return out;
}

export function findCondition(conditions: readonly Condition[] | undefined, type: ConditionType): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}
