// The engine's first half, shared by the CLI and the controller: describe both groups, check the preconditions,
// plan. Returns a value either way; nothing is changed.

import { checkGroups } from '../plan/preconditions.ts';
import type { PreconditionFailure } from '../plan/preconditions.ts';
import { planRestore } from '../plan/plan.ts';
import type { GroupSnapshot, Plan, RestoreRequest } from '../plan/types.ts';
import { describeGroups } from './describe.ts';
import type { DescribeOptions } from './describe.ts';
import type { EcsGateway } from './gateway.ts';

export type PlanOutcome =
  | { readonly kind: 'planned'; readonly plan: Plan; readonly original: GroupSnapshot; readonly target: GroupSnapshot }
  | { readonly kind: 'blocked'; readonly failure: PreconditionFailure };

export async function describeAndPlan(gateway: EcsGateway, request: RestoreRequest, options: DescribeOptions = {}): Promise<PlanOutcome> {
  const groups = await describeGroups(gateway, request.regionId, [request.originalGroupId, request.targetGroupId], options);
  const original = groups.get(request.originalGroupId);
  const target = groups.get(request.targetGroupId);
  const failure = checkGroups(request, original, target);
  if (failure || !original || !target) {
    return { kind: 'blocked', failure: failure ?? { reason: 'OriginalGroupNotFound', message: 'group not found' } };
  }
  return { kind: 'planned', plan: planRestore(request, original, target), original, target };
}
