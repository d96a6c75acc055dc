import type { NetworkType, Rule } from '../rules/rule.ts';
import type { RuleAttributes } from '../rules/identity.ts';

export type RestoreMode = 'complete' | 'partial';
export const RESTORE_MODES: readonly RestoreMode[] = ['complete', 'partial'];

export type GroupType = 'normal' | 'enterprise';

/** One security group as describe read it: metadata plus every rule, both directions, all pages. */
export interface GroupSnapshot {
  readonly regionId: string;
  readonly groupId: string;
  readonly name?: string;
  readonly groupType: GroupType;
  readonly networkType: NetworkType;
  readonly vpcId?: string;
  readonly rules: readonly Rule[];
  /** Permissions ECS returned that could not be parsed into a Rule (never touched by a restore). */
  readonly unreadableRules: readonly UnreadableRule[];
}

export interface UnreadableRule {
  readonly ruleId?: string;
  readonly reason: string;
}

export interface RestoreRequest {
  readonly regionId: string;
  readonly originalGroupId: string;
  readonly targetGroupId: string;
  readonly mode: RestoreMode;
}

export interface RuleUpdate {
  /** The original's rule, with the id the modify is addressed to. */
  readonly from: Rule;
  /** The values it takes, from the target. */
  readonly to: Rule;
  readonly changed: readonly (keyof RuleAttributes)[];
}

/** Why a rule of the target is not restored (and the rest still is). */
export type RuleProblemReason =
  | 'EnterpriseGroupRejectsDrop'
  | 'EnterpriseGroupRejectsGroupReference'
  | 'NotModifiableInPlace'
  | 'UnreadableRule';

export interface RuleProblem {
  readonly reason: RuleProblemReason;
  readonly message: string;
  readonly rule?: Rule;
  readonly ruleId?: string;
}

export interface PlanCounts {
  readonly toAdd: number;
  readonly toRemove: number;
  readonly toUpdate: number;
  readonly unchanged: number;
  readonly skippedSystemRules: number;
}

/** What a restore would do, as a value: printed, hashed, approved, then consumed by apply. */
export interface Plan {
  readonly request: RestoreRequest;
  readonly toAdd: readonly Rule[];
  readonly toRemove: readonly Rule[];
  readonly toUpdate: readonly RuleUpdate[];
  readonly unchanged: readonly Rule[];
  readonly skippedSystemRules: readonly Rule[];
  readonly problems: readonly RuleProblem[];
  readonly counts: PlanCounts;
  readonly planHash: string;
}
