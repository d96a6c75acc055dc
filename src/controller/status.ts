// From a plan or an outcome to the status a person reads: the bounded preview, the phase, and kstatus conditions
// (Ready always; Reconciling and Stalled only while True). Pure functions; the reconciler writes what they return.

import { setConditions } from '../api/conditions.ts';
import type { ConditionInput } from '../api/conditions.ts';
import { PREVIEW_RULE_LIMIT } from '../api/types.ts';
import type { Phase, Preview, PreviewRule, SecurityGroupRestoreStatus } from '../api/types.ts';
import type { Plan } from '../plan/types.ts';
import { renderRule } from '../rules/identity.ts';

export function buildPreview(plan: Plan): Preview {
  const rules: PreviewRule[] = [
    ...plan.toAdd.map((r): PreviewRule => ({ action: 'add', rule: renderRule(r) })),
    ...plan.toUpdate.map((u): PreviewRule => ({ action: 'update', rule: `${renderRule(u.from)} → ${u.changed.map((f) => `${f} ${JSON.stringify(u.to[f] ?? '')}`).join(', ')}` })),
    ...plan.toRemove.map((r): PreviewRule => ({ action: 'remove', rule: renderRule(r) })),
    ...plan.skippedSystemRules.map((r): PreviewRule => ({ action: 'skip', rule: renderRule(r) })),
  ];
  const preview: Preview = { planHash: plan.planHash, ...plan.counts, rules: rules.slice(0, PREVIEW_RULE_LIMIT) };
  if (rules.length > PREVIEW_RULE_LIMIT) preview.truncated = rules.length - PREVIEW_RULE_LIMIT;
  if (plan.problems.length > 0) preview.problems = plan.problems.slice(0, 20).map((p) => `${p.reason}: ${p.message}`);
  return preview;
}

/** What each phase means to kstatus, Flux and Argo CD. */
export type Health =
  | { readonly kind: 'ready'; readonly reason: string }
  | { readonly kind: 'progressing'; readonly reason: string }
  /** Waiting for a person, not failing: Ready=False without Stalled or Reconciling. */
  | { readonly kind: 'waiting'; readonly reason: string }
  | { readonly kind: 'stalled'; readonly reason: string };

export function conditionsFor(health: Health, message: string): ConditionInput[] {
  switch (health.kind) {
    case 'ready':
      return [{ type: 'Ready', status: 'True', reason: health.reason, message }];
    case 'progressing':
      return [
        { type: 'Ready', status: 'False', reason: health.reason, message },
        { type: 'Reconciling', status: 'True', reason: health.reason, message },
      ];
    case 'waiting':
      return [{ type: 'Ready', status: 'False', reason: health.reason, message }];
    case 'stalled':
      return [
        { type: 'Ready', status: 'False', reason: health.reason, message },
        { type: 'Stalled', status: 'True', reason: health.reason, message },
      ];
  }
}

export function nextStatus(
  previous: SecurityGroupRestoreStatus | undefined,
  update: { phase: Phase; health: Health; message: string; generation: number; now: Date } & Pick<SecurityGroupRestoreStatus, 'preview' | 'applied' | 'lastPlanTime'>,
): SecurityGroupRestoreStatus {
  const now = update.now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const preview = update.preview ?? previous?.preview;
  const applied = update.applied ?? previous?.applied;
  const lastPlanTime = update.lastPlanTime ?? previous?.lastPlanTime;
  return {
    observedGeneration: update.generation,
    phase: update.phase,
    conditions: setConditions(previous?.conditions, conditionsFor(update.health, update.message), update.generation, now),
    ...(preview && { preview }),
    ...(applied && { applied }),
    ...(preview && { skippedSystemRules: preview.skippedSystemRules }),
    ...(lastPlanTime && { lastPlanTime }),
    message: update.message,
  };
}

/** True when writing `next` would change what a person sees (times of identical plans aside). */
export function statusChanged(previous: SecurityGroupRestoreStatus | undefined, next: SecurityGroupRestoreStatus): boolean {
  const strip = (s: SecurityGroupRestoreStatus | undefined) => JSON.stringify({ ...s, lastPlanTime: undefined });
  return strip(previous) !== strip(next);
}

export function formatTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
