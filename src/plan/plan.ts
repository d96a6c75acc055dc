// (original, target, mode) → Plan. Pure: no I/O, no clock, no logging; the same inputs give the same plan and hash.

import { createHash } from 'node:crypto';
import { canonicalRule, compareAttributes, renderRule, ruleKey } from '../rules/identity.ts';
import type { RuleKey } from '../rules/identity.ts';
import { isSystemRule } from '../rules/rule.ts';
import type { Rule } from '../rules/rule.ts';
import type { GroupSnapshot, Plan, RestoreRequest, RuleProblem, RuleUpdate } from './types.ts';

/**
 * A target rule whose peer is the target group itself means "members of this group"; restored onto the original it
 * must mean the original's members.
 */
function rewriteSelfReference(rule: Rule, targetGroupId: string, originalGroupId: string): Rule {
  if (rule.peer.kind !== 'group' || rule.peer.groupId !== targetGroupId) return rule;
  return { ...rule, peer: { ...rule.peer, groupId: originalGroupId } };
}

/** Rules an enterprise (advanced) group refuses: drop rules and group references (ecs-api.md §3.4). */
function enterpriseProblem(rule: Rule): RuleProblem | undefined {
  if (rule.policy === 'drop') {
    return { reason: 'EnterpriseGroupRejectsDrop', rule, message: `an enterprise security group takes no drop rules: ${renderRule(rule)}` };
  }
  if (rule.peer.kind === 'group') {
    return { reason: 'EnterpriseGroupRejectsGroupReference', rule, message: `an enterprise security group takes no security-group references: ${renderRule(rule)}` };
  }
  return undefined;
}

function groupByKey(rules: readonly Rule[]): Map<RuleKey, Rule[]> {
  const buckets = new Map<RuleKey, Rule[]>();
  for (const rule of rules) {
    const key = ruleKey(rule);
    const bucket = buckets.get(key);
    if (bucket) bucket.push(rule);
    else buckets.set(key, [rule]);
  }
  return buckets;
}

// Renderings are the sort's tie-breaker; computing each once keeps planning 2 x 5,000 rules well under 50 ms.
const renderings = new WeakMap<Rule, string>();
function rendering(rule: Rule): string {
  let text = renderings.get(rule);
  if (text === undefined) {
    text = renderRule(rule);
    renderings.set(rule, text);
  }
  return text;
}

const byRendering = (a: Rule, b: Rule): number => {
  if (a.priority !== b.priority) return a.priority - b.priority;
  const ra = rendering(a);
  const rb = rendering(b);
  return ra < rb ? -1 : ra > rb ? 1 : 0;
};

export function planRestore(request: RestoreRequest, original: GroupSnapshot, target: GroupSnapshot): Plan {
  const complete = request.mode === 'complete';
  const toAdd: Rule[] = [];
  const toRemove: Rule[] = [];
  const toUpdate: RuleUpdate[] = [];
  const unchanged: Rule[] = [];
  const skippedSystemRules: Rule[] = [];
  const problems: RuleProblem[] = [];

  for (const unreadable of target.unreadableRules) {
    problems.push({ reason: 'UnreadableRule', ...(unreadable.ruleId !== undefined && { ruleId: unreadable.ruleId }), message: `target rule not restored: ${unreadable.reason}` });
  }
  for (const unreadable of original.unreadableRules) {
    problems.push({ reason: 'UnreadableRule', ...(unreadable.ruleId !== undefined && { ruleId: unreadable.ruleId }), message: `original rule left untouched: ${unreadable.reason}` });
  }

  const wanted: Rule[] = [];
  for (const rule of target.rules) {
    if (isSystemRule(rule)) {
      skippedSystemRules.push(rule);
      continue;
    }
    const rewritten = rewriteSelfReference(rule, target.groupId, original.groupId);
    const problem = original.groupType === 'enterprise' ? enterpriseProblem(rewritten) : undefined;
    if (problem) problems.push(problem);
    else wanted.push(rewritten);
  }

  // The original's system rules are ECS's, not the user's: never removed, never matched.
  const existing = groupByKey(original.rules.filter((r) => !isSystemRule(r)));
  const desired = groupByKey(wanted);

  for (const [key, wantedRules] of desired) {
    const existingRules = [...(existing.get(key) ?? [])].sort(byRendering);
    existing.delete(key);
    const unmatched: Rule[] = [];
    // Exact matches first, so that only real differences become updates.
    for (const want of [...wantedRules].sort(byRendering)) {
      const i = existingRules.findIndex((have) => compareAttributes(have, want).kind === 'equal');
      if (i >= 0) unchanged.push(...existingRules.splice(i, 1));
      else unmatched.push(want);
    }
    // Same identity, other attributes: the same rule to ECS, so it is modified in place, never added and removed.
    for (const want of unmatched) {
      // Prefer a rule of the same priority, so a modify never collides with a sibling where ECS keys on priority.
      const samePriority = existingRules.findIndex((r) => r.priority === want.priority);
      const have = existingRules.splice(samePriority >= 0 ? samePriority : 0, 1)[0];
      if (!have) {
        toAdd.push(want);
        continue;
      }
      if (!complete) {
        // Partial only adds rules the original lacks; this one it has, with other attributes.
        unchanged.push(have);
        continue;
      }
      const comparison = compareAttributes(have, want);
      if (comparison.kind === 'modifiable') toUpdate.push({ from: have, to: { ...want, ...(have.ruleId !== undefined && { ruleId: have.ruleId }) }, changed: comparison.changed });
      else if (comparison.kind === 'notModifiable') problems.push({ reason: 'NotModifiableInPlace', rule: have, message: comparison.reason });
      else unchanged.push(have);
    }
    if (complete) toRemove.push(...existingRules);
    else unchanged.push(...existingRules);
  }
  for (const leftovers of existing.values()) {
    if (complete) toRemove.push(...leftovers);
    else unchanged.push(...leftovers);
  }

  toAdd.sort(byRendering);
  toRemove.sort(byRendering);
  unchanged.sort(byRendering);
  skippedSystemRules.sort(byRendering);
  toUpdate.sort((a, b) => byRendering(a.from, b.from));

  const counts = {
    toAdd: toAdd.length,
    toRemove: toRemove.length,
    toUpdate: toUpdate.length,
    unchanged: unchanged.length,
    skippedSystemRules: skippedSystemRules.length,
  };
  return {
    request,
    toAdd,
    toRemove,
    toUpdate,
    unchanged,
    skippedSystemRules,
    problems,
    counts,
    planHash: planHash(request, { toAdd, toRemove, toUpdate, skippedSystemRules }),
  };
}

/**
 * A stable hash of what the plan would do, independent of rule order: the request, every planned rule's content,
 * and the ids of the original's rules it removes or modifies. A person approves exactly what they saw.
 */
export function planHash(
  request: RestoreRequest,
  planned: Pick<Plan, 'toAdd' | 'toRemove' | 'toUpdate' | 'skippedSystemRules'>,
): string {
  const text = (value: unknown) => JSON.stringify(value);
  const sorted = (items: string[]) => items.sort();
  const canonical = {
    v: 1,
    regionId: request.regionId,
    original: request.originalGroupId,
    target: request.targetGroupId,
    mode: request.mode,
    add: sorted(planned.toAdd.map((r) => text(canonicalRule(r)))),
    remove: sorted(planned.toRemove.map((r) => text([r.ruleId ?? '', canonicalRule(r)]))),
    update: sorted(planned.toUpdate.map((u) => text([u.from.ruleId ?? '', canonicalRule(u.from), canonicalRule(u.to)]))),
    skipped: sorted(planned.skippedSystemRules.map((r) => text(canonicalRule(r)))),
  };
  return createHash('sha256').update(text(canonical)).digest('hex').slice(0, 16);
}

export function isEmptyPlan(plan: Plan): boolean {
  return plan.toAdd.length === 0 && plan.toRemove.length === 0 && plan.toUpdate.length === 0;
}
