// The SecurityGroupRestore API (group ecs.sgrestore.io, version v1alpha1): TypeScript types of spec and status,
// defaults, and names. The CRD in crds/ is the schema the API server enforces; these types mirror it.

import type { V1ObjectMeta } from '@kubernetes/client-node';

export const API_GROUP = 'ecs.sgrestore.io';
export const API_VERSION = 'v1alpha1';
export const KIND = 'SecurityGroupRestore';
export const PLURAL = 'securitygrouprestores';
export const API_VERSION_FULL = `${API_GROUP}/${API_VERSION}`;

export type Mode = 'Complete' | 'Partial';
export type Approval = 'Automatic' | 'Manual';
export type SyncPolicy = 'Once' | 'Continuous';
export type Phase = 'Pending' | 'AwaitingApproval' | 'Applying' | 'Completed' | 'Failed' | 'Suspended';

export interface SecurityGroupRestoreSpec {
  regionId: string;
  originalSecurityGroupId: string;
  targetSecurityGroupId: string;
  /** Default Partial: the mode that never removes. */
  mode?: Mode;
  /** Default Automatic. With Manual nothing is applied until approvedPlanHash equals status.preview.planHash. */
  approval?: Approval;
  approvedPlanHash?: string;
  /** Default Once: after a successful apply, only re-plan every resyncInterval so drift shows in status. */
  syncPolicy?: SyncPolicy;
  /** Go-style duration (`90s`, `10m`, `1h30m`), default 10m. */
  resyncInterval?: string;
  credentialsSecretRef?: { name: string };
  /** A Complete plan removing more rules than this is not applied (Stalled, TooManyRemovals). */
  maxRemovals?: number;
  suspend?: boolean;
}

/** metav1.Condition. */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  observedGeneration?: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export type PreviewAction = 'add' | 'remove' | 'update' | 'skip';

export interface PreviewRule {
  action: PreviewAction;
  /** One line, e.g. `ingress accept TCP 22/22 from 10.0.0.0/8 priority 1 "ssh"`. */
  rule: string;
}

export interface Preview {
  planHash: string;
  toAdd: number;
  toRemove: number;
  toUpdate: number;
  unchanged: number;
  skippedSystemRules: number;
  /** The first PREVIEW_RULE_LIMIT planned changes; `truncated` says how many more there are. */
  rules: PreviewRule[];
  truncated?: number;
  /** Target rules the original cannot hold, one line each. */
  problems?: string[];
}

export interface Applied {
  added: number;
  removed: number;
  updated: number;
  time: string;
  planHash: string;
  /** metadata.generation of the spec this apply carried out. */
  generation: number;
}

export interface SecurityGroupRestoreStatus {
  observedGeneration?: number;
  phase?: Phase;
  conditions?: Condition[];
  preview?: Preview;
  applied?: Applied;
  skippedSystemRules?: number;
  lastPlanTime?: string;
  message?: string;
}

export type ObjectMeta = V1ObjectMeta;

export interface SecurityGroupRestore {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec: SecurityGroupRestoreSpec;
  status?: SecurityGroupRestoreStatus;
}

export const PREVIEW_RULE_LIMIT = 50;
export const DEFAULT_RESYNC_INTERVAL = '10m';

/** The spec with every default applied (the CRD defaults them too; objects from older CRDs may lack them). */
export interface ResolvedSpec extends Required<Pick<SecurityGroupRestoreSpec, 'regionId' | 'originalSecurityGroupId' | 'targetSecurityGroupId' | 'mode' | 'approval' | 'syncPolicy' | 'suspend'>> {
  approvedPlanHash?: string;
  resyncIntervalMs: number;
  credentialsSecretName?: string;
  maxRemovals?: number;
}

/** `90s`, `10m`, `1h30m` → milliseconds; undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  if (!/^([0-9]+(ms|s|m|h))+$/.test(text)) return undefined;
  let total = 0;
  for (const [, n, unit] of text.matchAll(/([0-9]+)(ms|s|m|h)/g)) {
    const factor = unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000;
    total += Number(n) * factor;
  }
  return total;
}

export function resolveSpec(spec: SecurityGroupRestoreSpec): ResolvedSpec {
  const interval = parseDuration(spec.resyncInterval ?? DEFAULT_RESYNC_INTERVAL) ?? 600_000;
  return {
    regionId: spec.regionId,
    originalSecurityGroupId: spec.originalSecurityGroupId,
    targetSecurityGroupId: spec.targetSecurityGroupId,
    mode: spec.mode ?? 'Partial',
    approval: spec.approval ?? 'Automatic',
    syncPolicy: spec.syncPolicy ?? 'Once',
    suspend: spec.suspend ?? false,
    resyncIntervalMs: Math.max(interval, 10_000),
    ...(spec.approvedPlanHash ? { approvedPlanHash: spec.approvedPlanHash } : {}),
    ...(spec.credentialsSecretRef?.name ? { credentialsSecretName: spec.credentialsSecretRef.name } : {}),
    ...(spec.maxRemovals !== undefined ? { maxRemovals: spec.maxRemovals } : {}),
  };
}
