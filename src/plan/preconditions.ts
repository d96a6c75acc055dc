// Preconditions as values (cert-manager style): each check returns a reason and a message naming the field, group or
// region, or nothing. Nothing is sent to ECS until the request checks pass, and nothing is changed until the group
// checks pass.

import { RESTORE_MODES } from './types.ts';
import type { GroupSnapshot, RestoreRequest } from './types.ts';

export type PreconditionReason =
  | 'InvalidRegionId'
  | 'InvalidSecurityGroupId'
  | 'InvalidMode'
  | 'SameGroup'
  | 'OriginalGroupNotFound'
  | 'TargetGroupNotFound'
  | 'NetworkTypeMismatch';

export interface PreconditionFailure {
  readonly reason: PreconditionReason;
  readonly message: string;
  /** The input field at fault, when there is one (`regionId`, `originalSecurityGroupId`, …). */
  readonly field?: string;
}

export const REGION_ID_PATTERN = /^[a-z]{2,}(-[a-z0-9]+)+$/;
export const SECURITY_GROUP_ID_PATTERN = /^sg-[a-zA-Z0-9][a-zA-Z0-9-]{0,63}$/;

/** Checks the request itself, before any cloud call. Returns every failure, so a person can fix them at once. */
export function validateRequest(req: { regionId?: string; originalGroupId?: string; targetGroupId?: string; mode?: string }): PreconditionFailure[] {
  const failures: PreconditionFailure[] = [];
  if (!req.regionId || !REGION_ID_PATTERN.test(req.regionId)) {
    failures.push({ reason: 'InvalidRegionId', field: 'regionId', message: `region "${req.regionId ?? ''}" is not a region id such as cn-hangzhou` });
  }
  for (const [field, value] of [['originalSecurityGroupId', req.originalGroupId], ['targetSecurityGroupId', req.targetGroupId]] as const) {
    if (!value || !SECURITY_GROUP_ID_PATTERN.test(value)) {
      failures.push({ reason: 'InvalidSecurityGroupId', field, message: `${field} "${value ?? ''}" is not a security group id such as sg-bp1fg655nh68xyz9i0b2` });
    }
  }
  if (req.mode !== undefined && !(RESTORE_MODES as readonly string[]).includes(req.mode)) {
    failures.push({ reason: 'InvalidMode', field: 'mode', message: `mode "${req.mode}" is neither complete nor partial` });
  }
  if (req.originalGroupId && req.originalGroupId === req.targetGroupId) {
    failures.push({ reason: 'SameGroup', field: 'targetSecurityGroupId', message: `the original and target groups are both ${req.originalGroupId}; restore from a different (backup) group` });
  }
  return failures;
}

/** Checks what describe found. `undefined` means the group does not exist in the request's region. */
export function checkGroups(req: RestoreRequest, original: GroupSnapshot | undefined, target: GroupSnapshot | undefined): PreconditionFailure | undefined {
  const sameRegion = 'the original and target groups must be in the same region';
  if (!original) {
    return { reason: 'OriginalGroupNotFound', field: 'originalSecurityGroupId', message: `original security group ${req.originalGroupId} not found in region ${req.regionId}; ${sameRegion}` };
  }
  if (!target) {
    return { reason: 'TargetGroupNotFound', field: 'targetSecurityGroupId', message: `target security group ${req.targetGroupId} not found in region ${req.regionId}; ${sameRegion}` };
  }
  if (original.networkType !== target.networkType) {
    const describe = (g: GroupSnapshot) => (g.networkType === 'vpc' ? `VPC (${g.vpcId ?? ''})` : 'classic network');
    return {
      reason: 'NetworkTypeMismatch',
      message: `original group ${original.groupId} is in a ${describe(original)} but target group ${target.groupId} is in a ${describe(target)}; both must be of the same network type`,
    };
  }
  return undefined;
}
