// Applies a Plan, make-before-break: every add and update first, removals only when all of them succeeded, so a
// failure part-way never leaves the original with fewer rules than it had. Batches of at most 100, a ClientToken per
// call so a retried call is not applied twice, bounded retries on transient failures, and a batch refused for its
// content is split in halves until the bad rule is isolated: it is reported, the rest is applied.

import { createHash } from 'node:crypto';
import { canonicalRule, renderRule } from '../rules/identity.ts';
import { toModifyFields, toPermissionRequest } from '../rules/permission.ts';
import type { Direction, Rule } from '../rules/rule.ts';
import type { Plan } from '../plan/types.ts';
import { CloudError } from './errors.ts';
import type { EcsGateway, MutationResult } from './gateway.ts';
import { withRetries } from './retry.ts';
import type { RetryHooks, RetryPolicy } from './retry.ts';

export const MAX_BATCH = 100;

/** What apply needs of a logger; a winston Logger fits. */
export interface ApplyLogger {
  info(message: string, meta?: Record<string, unknown>): unknown;
  warn(message: string, meta?: Record<string, unknown>): unknown;
}

export type ApplyPhase = 'add' | 'update' | 'remove';

export interface ApplyProgress {
  readonly phase: ApplyPhase;
  readonly done: number;
  readonly total: number;
}

export interface ApplyOptions {
  /**
   * Distinguishes this apply from any other. ClientTokens are derived from it, the plan hash and the batch, so a
   * retry inside this apply is deduplicated by ECS, while a later apply of an identical plan (after someone undid the
   * first) is not mistaken for a replay.
   */
  readonly applyId: string;
  readonly batchSize?: number;
  readonly retryPolicy?: RetryPolicy;
  readonly retryHooks?: RetryHooks;
  readonly logger?: ApplyLogger;
  readonly onProgress?: (progress: ApplyProgress) => void;
  /** Awaited before every cloud call: the operator's per-credential token bucket. */
  readonly beforeCall?: () => Promise<void>;
}

export interface RuleFailure {
  readonly phase: ApplyPhase;
  readonly rule: Rule;
  readonly error: CloudError;
}

export interface ApplyResult {
  readonly added: number;
  readonly updated: number;
  readonly removed: number;
  /** Removals whose rule was already gone (someone else removed it, or a lost response to our own revoke). */
  readonly alreadyAbsent: number;
  /** Rules ECS refused one by one; the rest of their batch was applied. */
  readonly failures: readonly RuleFailure[];
  /** True when adds or updates failed or the apply stopped, so no rule was removed. */
  readonly removalsSkipped: boolean;
  /** The error that stopped the apply (credentials, permissions, a missing group, retries exhausted), if any. */
  readonly aborted?: CloudError;
  readonly mutatingCalls: number;
  /** Every planned change is in place. */
  readonly complete: boolean;
}

/** ECS codes meaning "no such rule" on revoke or modify by id (ecs-api.md §3.3). */
const RULE_NOT_FOUND_CODES = new Set([
  'InvalidParam.SecurityGroupRuleId',
  'InvalidSecurityGroupRule.RuleNotExist',
  'InvalidSecurityGroupRuleId.NotFound',
]);

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function byDirection(rules: readonly Rule[]): [Direction, Rule[]][] {
  return (['ingress', 'egress'] as const).map((d) => [d, rules.filter((r) => r.direction === d)] as [Direction, Rule[]]).filter(([, rs]) => rs.length > 0);
}

export function clientToken(parts: readonly string[]): string {
  return createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 48);
}

export async function applyPlan(gateway: EcsGateway, plan: Plan, options: ApplyOptions): Promise<ApplyResult> {
  const { regionId, originalGroupId: groupId } = plan.request;
  const batchSize = Math.min(options.batchSize ?? MAX_BATCH, MAX_BATCH);
  const log = options.logger;
  const failures: RuleFailure[] = [];
  let added = 0;
  let updated = 0;
  let removed = 0;
  let alreadyAbsent = 0;
  let mutatingCalls = 0;
  const progress = { add: 0, update: 0, remove: 0 };
  const totals = { add: plan.toAdd.length, update: plan.toUpdate.length, remove: plan.toRemove.length };
  const report = (phase: ApplyPhase, n: number) => {
    progress[phase] += n;
    options.onProgress?.({ phase, done: progress[phase], total: totals[phase] });
  };

  const mutate = async (action: string, count: number, token: string, call: () => Promise<MutationResult>): Promise<MutationResult> => {
    const result = await withRetries(
      action,
      async () => {
        await options.beforeCall?.();
        mutatingCalls++;
        return call();
      },
      options.retryPolicy,
      {
        ...options.retryHooks,
        onRetry: (error, attempt, delayMs) => {
          log?.warn('retrying ECS call', { action, groupId, count, attempt, delayMs, code: error.code, requestId: error.requestId });
          options.retryHooks?.onRetry?.(error, attempt, delayMs);
        },
      },
    );
    log?.info('ECS call applied', { action, groupId, count, requestId: result.requestId, clientToken: token });
    return result;
  };

  const batchToken = (action: string, rules: readonly Rule[]) =>
    clientToken([options.applyId, plan.planHash, action, groupId, ...rules.map((r) => `${r.ruleId ?? ''}${JSON.stringify(canonicalRule(r))}`).sort()]);

  const authorize = async (direction: Direction, rules: Rule[]): Promise<void> => {
    const action = direction === 'ingress' ? 'AuthorizeSecurityGroup' : 'AuthorizeSecurityGroupEgress';
    const token = batchToken(action, rules);
    try {
      await mutate(action, rules.length, token, () => gateway.authorize({ regionId, groupId, direction, permissions: rules.map(toPermissionRequest), clientToken: token }));
      added += rules.length;
      report('add', rules.length);
    } catch (error) {
      if (!(error instanceof CloudError) || error.kind !== 'rejected') throw error;
      if (rules.length === 1 && rules[0]) {
        log?.warn('ECS refused a rule', { action, groupId, rule: renderRule(rules[0]), code: error.code, requestId: error.requestId });
        failures.push({ phase: 'add', rule: rules[0], error });
        report('add', 1);
        return;
      }
      // Isolate the rule ECS refuses: each half is tried on its own.
      const half = Math.ceil(rules.length / 2);
      await authorize(direction, rules.slice(0, half));
      await authorize(direction, rules.slice(half));
    }
  };

  const revoke = async (direction: Direction, rules: Rule[]): Promise<void> => {
    const action = direction === 'ingress' ? 'RevokeSecurityGroup' : 'RevokeSecurityGroupEgress';
    const token = batchToken(action, rules);
    const ruleIds = rules.map((r) => r.ruleId ?? '');
    try {
      await mutate(action, rules.length, token, () => gateway.revokeByIds({ regionId, groupId, direction, ruleIds, clientToken: token }));
      removed += rules.length;
      report('remove', rules.length);
    } catch (error) {
      if (!(error instanceof CloudError) || error.kind !== 'rejected') throw error;
      if (rules.length === 1 && rules[0]) {
        if (RULE_NOT_FOUND_CODES.has(error.code)) {
          // Already gone: the goal of a removal is reached.
          alreadyAbsent++;
        } else {
          log?.warn('ECS refused to remove a rule', { action, groupId, rule: renderRule(rules[0]), code: error.code, requestId: error.requestId });
          failures.push({ phase: 'remove', rule: rules[0], error });
        }
        report('remove', 1);
        return;
      }
      const half = Math.ceil(rules.length / 2);
      await revoke(direction, rules.slice(0, half));
      await revoke(direction, rules.slice(half));
    }
  };

  let aborted: CloudError | undefined;
  let removalsSkipped = false;
  try {
    for (const [direction, rules] of byDirection(plan.toAdd)) {
      for (const batch of chunk(rules, batchSize)) await authorize(direction, batch);
    }
    for (const update of plan.toUpdate) {
      const action = update.from.direction === 'ingress' ? 'ModifySecurityGroupRule' : 'ModifySecurityGroupEgressRule';
      const ruleId = update.from.ruleId ?? '';
      const token = batchToken(action, [update.to]);
      try {
        await mutate(action, 1, token, () => gateway.modify({ regionId, groupId, direction: update.from.direction, ruleId, fields: toModifyFields(update.to), clientToken: token }));
        updated++;
      } catch (error) {
        if (!(error instanceof CloudError) || error.kind !== 'rejected') throw error;
        log?.warn('ECS refused to modify a rule', { action, groupId, ruleId, code: error.code, requestId: error.requestId });
        failures.push({ phase: 'update', rule: update.from, error });
      }
      report('update', 1);
    }
    if (failures.length > 0 && plan.toRemove.length > 0) {
      // Make-before-break: a rule the target wanted is missing, so the original keeps what it has.
      removalsSkipped = true;
      log?.warn('removals skipped because adds or updates failed', { groupId, failed: failures.length, skippedRemovals: plan.toRemove.length });
    } else {
      for (const [direction, rules] of byDirection(plan.toRemove)) {
        for (const batch of chunk(rules, batchSize)) await revoke(direction, batch);
      }
    }
  } catch (error) {
    aborted = error instanceof CloudError ? error : new CloudError({ action: 'apply', code: 'InternalError', kind: 'fatal', message: String(error) });
    if (removed === 0 && plan.toRemove.length > 0) removalsSkipped = true;
    log?.warn('apply stopped', { groupId, code: aborted.code, requestId: aborted.requestId, added, updated, removed });
  }

  return {
    added,
    updated,
    removed,
    alreadyAbsent,
    failures,
    removalsSkipped,
    ...(aborted !== undefined && { aborted }),
    mutatingCalls,
    complete: aborted === undefined && failures.length === 0,
  };
}
