// One reconcile of one SecurityGroupRestore: read it fresh, decide through an ordered chain of checks (suspend,
// conflict, credentials, preconditions, plan, guards, approval), apply when every check passes, write status through
// the status subresource, and *return* when to look again (controller-runtime style) instead of sleeping.

import { randomUUID } from 'node:crypto';
import { resolveSpec } from '../api/types.ts';
import type { Applied, Phase, ResolvedSpec, SecurityGroupRestore, SecurityGroupRestoreStatus } from '../api/types.ts';
import { applyPlan } from '../cloud/apply.ts';
import type { ApplyLogger, ApplyProgress, ApplyResult } from '../cloud/apply.ts';
import { CloudError } from '../cloud/errors.ts';
import type { EcsGateway, StaticCredentials } from '../cloud/gateway.ts';
import type { RetryPolicy } from '../cloud/retry.ts';
import { describeAndPlan } from '../cloud/restore.ts';
import { isEmptyPlan } from '../plan/plan.ts';
import { validateRequest } from '../plan/preconditions.ts';
import type { Plan, RestoreRequest } from '../plan/types.ts';
import { renderRule } from '../rules/identity.ts';
import type { ReconcileResult } from './queue.ts';
import { buildPreview, formatTime, nextStatus, statusChanged } from './status.ts';
import type { Health } from './status.ts';
import type { EventInput, KubeClient } from './kube.ts';

export interface ReconcilerDeps {
  readonly kube: Pick<KubeClient, 'getRestore' | 'patchStatus' | 'readSecret' | 'recordEvent'>;
  /** An ECS gateway for these credentials (undefined: the operator's own chain) in this region. */
  readonly gatewayFor: (credentials: StaticCredentials | undefined, regionId: string) => EcsGateway;
  /** Whether restores in this namespace may use the operator's own credentials (no Secret named). */
  readonly defaultCredentialsAllowed: (namespace: string) => boolean;
  /** Another restore onto the same original group that came first, if any. */
  readonly findConflict: (restore: SecurityGroupRestore) => SecurityGroupRestore | undefined;
  /** The per-credential token bucket toward ECS. */
  readonly beforeCloudCall?: (credentialKey: string) => () => Promise<void>;
  readonly logger: ApplyLogger & { error(message: string, meta?: Record<string, unknown>): unknown };
  readonly now?: () => Date;
  /** Retries of one cloud call before the reconcile gives up and the queue backs off (default: the cloud layer's). */
  readonly cloudRetryPolicy?: RetryPolicy;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Minimum time between progress writes during a long apply (default PROGRESS_INTERVAL_MS). */
  readonly progressIntervalMs?: number;
}

/** How long a restore stalled on something a person must fix waits before it looks again. */
export const STALLED_RECHECK_MS = 60_000;
/** How often a long apply reports its progress in status.message. */
export const PROGRESS_INTERVAL_MS = 5_000;
/** Credentials may appear any moment (Secrets are read, not watched): look again sooner. */
export const CREDENTIALS_RECHECK_MS = 20_000;

type Outcome = {
  phase: Phase;
  health: Health;
  message: string;
  requeueAfterMs?: number;
  event?: EventInput | undefined;
  preview?: SecurityGroupRestoreStatus['preview'];
  applied?: Applied;
  lastPlanTime?: string;
};

function stalled(reason: string, message: string, requeueAfterMs = STALLED_RECHECK_MS): Outcome {
  return { phase: 'Failed', health: { kind: 'stalled', reason }, message, requeueAfterMs, event: { type: 'Warning', reason: 'Failed', message: `${reason}: ${message}` } };
}

function modeOf(spec: ResolvedSpec): RestoreRequest['mode'] {
  return spec.mode === 'Complete' ? 'complete' : 'partial';
}

function describeCloudError(error: CloudError): string {
  return error.describe();
}

function summary(plan: Plan): string {
  const c = plan.counts;
  return `${c.toAdd} to add, ${c.toUpdate} to update, ${c.toRemove} to remove, ${c.unchanged} unchanged, ${c.skippedSystemRules} system rule(s) skipped`;
}

function systemRuleNote(plan: Plan): string {
  return plan.counts.skippedSystemRules > 0 ? `; ${plan.counts.skippedSystemRules} system rule(s) of the target were not created (recreate them by hand at priority 100 if needed)` : '';
}

export class Reconciler {
  private readonly deps: ReconcilerDeps;

  constructor(deps: ReconcilerDeps) {
    this.deps = deps;
  }

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const [namespace = '', name = ''] = key.split('/');
    const restore = await this.deps.kube.getRestore(namespace, name);
    if (!restore || restore.metadata.deletionTimestamp) return {};
    let outcome: Outcome;
    try {
      outcome = await this.decide(restore);
    } catch (error) {
      if (error instanceof TransientReconcileError) {
        // Transient (throttling, 5xx, timeouts after our retries): say so, keep Reconciling, and back off.
        const phase = restore.status?.phase === 'Completed' || restore.status?.phase === 'Applying' ? restore.status.phase : 'Pending';
        await this.writeStatus(restore, { phase, health: { kind: 'progressing', reason: 'RetryingAfterCloudError' }, message: `${error.message}; retrying with backoff` }).catch(() => undefined);
      }
      throw error;
    }
    await this.writeStatus(restore, outcome);
    return outcome.requeueAfterMs !== undefined ? { requeueAfterMs: outcome.requeueAfterMs } : {};
  }

  private async writeStatus(restore: SecurityGroupRestore, outcome: Outcome): Promise<void> {
    const generation = restore.metadata.generation ?? 1;
    const previous = restore.status;
    const next = nextStatus(previous, {
      phase: outcome.phase,
      health: outcome.health,
      message: outcome.message,
      generation,
      now: this.now(),
      ...(outcome.preview && { preview: outcome.preview }),
      ...(outcome.applied && { applied: outcome.applied }),
      ...(outcome.lastPlanTime && { lastPlanTime: outcome.lastPlanTime }),
    });
    const planTimeStale = outcome.lastPlanTime !== undefined && previous?.lastPlanTime !== outcome.lastPlanTime && Date.parse(outcome.lastPlanTime) - Date.parse(previous?.lastPlanTime ?? '0') > 60_000;
    if (!statusChanged(previous, next) && !planTimeStale) return;
    const written = await this.deps.kube.patchStatus(restore, next);
    // Later writes of this reconcile (progress, the result) build on what we wrote, with its resourceVersion.
    restore.metadata = written.metadata;
    restore.status = written.status ?? next;
    // Events on transitions only: a phase change, or a new message in the same failing phase.
    if (outcome.event && (previous?.phase !== next.phase || previous?.message !== next.message || previous?.observedGeneration !== generation)) {
      await this.deps.kube.recordEvent(restore, outcome.event);
    }
  }

  /** The ordered chain of checks; the first that applies decides. */
  private async decide(restore: SecurityGroupRestore): Promise<Outcome> {
    const spec = resolveSpec(restore.spec);
    const generation = restore.metadata.generation ?? 1;
    const namespace = restore.metadata.namespace ?? 'default';
    const previous = restore.status;

    if (spec.suspend) {
      return { phase: 'Suspended', health: { kind: 'waiting', reason: 'Suspended' }, message: 'spec.suspend is true: nothing is planned or applied' };
    }

    const first = this.deps.findConflict(restore);
    if (first) {
      const firstName = `${first.metadata.namespace}/${first.metadata.name}`;
      return stalled('Conflict', `SecurityGroupRestore ${firstName} already restores onto ${spec.originalSecurityGroupId} in ${spec.regionId}; only one restore per original group proceeds (delete or suspend one)`);
    }

    const invalid = validateRequest({ regionId: spec.regionId, originalGroupId: spec.originalSecurityGroupId, targetGroupId: spec.targetSecurityGroupId });
    if (invalid.length > 0) {
      return stalled(invalid[0]?.reason ?? 'InvalidSpec', invalid.map((f) => `spec.${f.field ?? ''}: ${f.message}`).join('; '));
    }

    let credentials: StaticCredentials | undefined;
    if (spec.credentialsSecretName) {
      const secretName = `${namespace}/${spec.credentialsSecretName}`;
      const read = await this.deps.kube.readSecret(namespace, spec.credentialsSecretName);
      if (read.kind === 'notFound') return stalled('CredentialsNotFound', `Secret ${secretName} (spec.credentialsSecretRef) not found`, CREDENTIALS_RECHECK_MS);
      if (read.kind === 'forbidden') return stalled('CredentialsForbidden', `${read.message}; grant it with a RoleBinding to the ClusterRole sgrestore-credentials-reader in namespace ${namespace}`, CREDENTIALS_RECHECK_MS);
      const { accessKeyId, accessKeySecret, securityToken } = read.data;
      if (!accessKeyId || !accessKeySecret) return stalled('InvalidCredentials', `Secret ${secretName} must hold the keys accessKeyId and accessKeySecret (optional securityToken)`, CREDENTIALS_RECHECK_MS);
      credentials = { accessKeyId, accessKeySecret, ...(securityToken ? { securityToken } : {}) };
    } else if (!this.deps.defaultCredentialsAllowed(namespace)) {
      return stalled(
        'CredentialsRequired',
        `spec.credentialsSecretRef is required in namespace ${namespace}: the operator's own credentials serve only the namespaces its --default-credentials-namespaces flag allows`,
        CREDENTIALS_RECHECK_MS,
      );
    }

    const credentialKey = credentials ? `ak:${credentials.accessKeyId}` : 'default';
    const gateway = this.deps.gatewayFor(credentials, spec.regionId);
    const beforeCall = this.deps.beforeCloudCall?.(credentialKey);
    const request: RestoreRequest = { regionId: spec.regionId, originalGroupId: spec.originalSecurityGroupId, targetGroupId: spec.targetSecurityGroupId, mode: modeOf(spec) };
    const log = { key: `${namespace}/${restore.metadata.name ?? ''}`, generation };

    let planned;
    try {
      planned = await describeAndPlan(gateway, request, {
        ...(beforeCall && { beforeCall }),
        ...(this.deps.cloudRetryPolicy && { retryPolicy: this.deps.cloudRetryPolicy }),
        retryHooks: {
          ...(this.deps.sleep && { sleep: this.deps.sleep }),
          onRetry: (error, attempt) => this.deps.logger.warn('retrying ECS call', { ...log, action: error.action, attempt, code: error.code, requestId: error.requestId }),
        },
      });
    } catch (error) {
      return this.cloudFailure(error, 'Planning');
    }
    if (planned.kind === 'blocked') return stalled(planned.failure.reason, planned.failure.message);

    const { plan, target } = planned;
    const now = formatTime(this.now());
    const preview = buildPreview(plan);
    const appliedThisGeneration = previous?.applied?.generation === generation;

    if (isEmptyPlan(plan)) {
      // In sync. Keep the preview of the apply that got us here, so the columns show what was restored.
      const keepPreview = appliedThisGeneration && previous?.preview !== undefined;
      const applied: Applied = appliedThisGeneration && previous?.applied ? previous.applied : { added: 0, removed: 0, updated: 0, time: now, planHash: plan.planHash, generation };
      return {
        phase: 'Completed',
        health: { kind: 'ready', reason: 'Restored' },
        message: !appliedThisGeneration
          ? `nothing to restore: ${spec.originalSecurityGroupId} already holds the target's rules${systemRuleNote(plan)}`
          : previous?.phase === 'Completed' && previous.conditions?.find((c) => c.type === 'Ready')?.reason === 'Restored' && previous.message
            ? previous.message // still what the restore did; nothing drifted since
            : `in sync with ${spec.targetSecurityGroupId}${systemRuleNote(plan)}`,
        requeueAfterMs: spec.resyncIntervalMs,
        ...(keepPreview ? {} : { preview }),
        applied,
        lastPlanTime: now,
        ...(previous?.phase !== 'Completed' && { event: { type: 'Normal', reason: 'Applied', message: `nothing to restore (planHash ${plan.planHash})` } }),
      };
    }

    if (appliedThisGeneration && spec.syncPolicy === 'Once' && previous?.phase === 'Completed') {
      // Drift after a completed restore: shown, not re-applied (syncPolicy Once).
      return {
        phase: 'Completed',
        health: { kind: 'ready', reason: 'DriftDetected' },
        message: `drift since the restore: ${summary(plan)}; syncPolicy Once does not re-apply (use Continuous, or edit the spec to restore again)`,
        requeueAfterMs: spec.resyncIntervalMs,
        preview,
        lastPlanTime: now,
        event: { type: 'Warning', reason: 'DriftDetected', message: summary(plan) },
      };
    }

    const userRulesInTarget = target.rules.filter((r) => r.priority !== 110).length;
    if (plan.request.mode === 'complete') {
      if (spec.maxRemovals !== undefined && plan.counts.toRemove > spec.maxRemovals) {
        return { ...stalled('TooManyRemovals', `the plan removes ${plan.counts.toRemove} rules, more than spec.maxRemovals (${spec.maxRemovals}); review status.preview and raise maxRemovals to allow it`), preview, lastPlanTime: now };
      }
      if (userRulesInTarget === 0 && spec.maxRemovals === undefined) {
        return {
          ...stalled('EmptyTarget', `target group ${spec.targetSecurityGroupId} has no user rules: a Complete restore would remove all ${plan.counts.toRemove} rules of ${spec.originalSecurityGroupId}; set spec.maxRemovals to allow it`),
          preview,
          lastPlanTime: now,
        };
      }
    }

    if (spec.approval === 'Manual' && spec.approvedPlanHash !== plan.planHash) {
      const how = `review status.preview, then run \`kubectl sgrestore approve ${restore.metadata.name ?? ''} -n ${namespace}\` (sets spec.approvedPlanHash to ${plan.planHash})`;
      const message = spec.approvedPlanHash
        ? `the approved plan ${spec.approvedPlanHash} is out of date (a group changed since); the new plan is ${plan.planHash}: ${summary(plan)}; ${how}`
        : `awaiting approval of plan ${plan.planHash}: ${summary(plan)}; ${how}`;
      return {
        phase: 'AwaitingApproval',
        health: { kind: 'waiting', reason: 'AwaitingApproval' },
        message,
        requeueAfterMs: Math.min(spec.resyncIntervalMs, 60_000),
        preview,
        lastPlanTime: now,
        event: { type: 'Normal', reason: 'AwaitingApproval', message: `plan ${plan.planHash}: ${summary(plan)}` },
      };
    }

    // Record the intent before touching the cloud: a crash from here on resumes as Applying and re-plans.
    const applying: Outcome = {
      phase: 'Applying',
      health: { kind: 'progressing', reason: 'Applying' },
      message: `applying plan ${plan.planHash}: ${summary(plan)}`,
      preview,
      lastPlanTime: now,
      event: { type: 'Normal', reason: 'Planned', message: `plan ${plan.planHash}: ${summary(plan)}` },
    };
    await this.writeStatus(restore, applying);

    // Progress on long applies: at most one status write every PROGRESS_INTERVAL_MS, one at a time.
    const progressInterval = this.deps.progressIntervalMs ?? PROGRESS_INTERVAL_MS;
    let lastProgress = Date.now();
    let progressWrite: Promise<void> = Promise.resolve();
    const onProgress = (p: ApplyProgress) => {
      if (Date.now() - lastProgress < progressInterval || p.done >= p.total) return;
      lastProgress = Date.now();
      progressWrite = progressWrite
        .then(() => this.writeStatus(restore, { ...applying, message: `${applying.message}; in progress: ${p.phase} ${p.done}/${p.total}`, event: undefined }))
        .catch(() => undefined); // a failed progress write is not the apply's failure
    };

    let result: ApplyResult;
    try {
      result = await applyPlan(gateway, plan, {
        applyId: randomUUID(),
        logger: { info: (m, meta) => this.deps.logger.info(m, { ...log, ...meta }), warn: (m, meta) => this.deps.logger.warn(m, { ...log, ...meta }) },
        ...(beforeCall && { beforeCall }),
        ...(this.deps.cloudRetryPolicy && { retryPolicy: this.deps.cloudRetryPolicy }),
        ...(this.deps.sleep && { retryHooks: { sleep: this.deps.sleep } }),
        onProgress,
      });
    } catch (error) {
      return this.cloudFailure(error, 'Applying');
    } finally {
      await progressWrite;
    }

    const applied: Applied = { added: result.added, removed: result.removed, updated: result.updated, time: formatTime(this.now()), planHash: plan.planHash, generation };
    if (result.aborted) {
      const outcome = this.cloudFailure(result.aborted, 'Applying');
      return { ...outcome, applied, preview };
    }
    if (!result.complete) {
      const rejected = result.failures.map((f) => `${f.phase} ${renderRule(f.rule)}: ${f.error.code}${f.error.requestId ? ` (RequestId ${f.error.requestId})` : ''}`).join('; ');
      const removals = result.removalsSkipped ? ` No rule was removed (removals wait until every add and update succeeds).` : '';
      return { ...stalled('RulesRejected', `ECS refused ${result.failures.length} rule(s): ${rejected}.${removals}`), applied, preview };
    }
    return {
      phase: 'Completed',
      health: { kind: 'ready', reason: 'Restored' },
      message: `restored from ${spec.targetSecurityGroupId}: added ${result.added}, updated ${result.updated}, removed ${result.removed}${systemRuleNote(plan)}`,
      requeueAfterMs: spec.resyncIntervalMs,
      preview,
      applied,
      lastPlanTime: now,
      event: { type: 'Normal', reason: 'Applied', message: `added ${result.added}, updated ${result.updated}, removed ${result.removed} (planHash ${plan.planHash})` },
    };
  }

  /** A transient cloud failure is retried with backoff (thrown); anything else needs a person (Stalled). */
  private cloudFailure(error: unknown, stage: string): Outcome {
    if (error instanceof CloudError && error.kind === 'transient') {
      throw new TransientReconcileError(`${stage}: ${describeCloudError(error)}`, error);
    }
    if (error instanceof CloudError) {
      return stalled(error.code.startsWith('SignatureDoesNotMatch') || error.code.startsWith('InvalidAccessKeyId') ? 'AuthenticationFailed' : 'CloudError', describeCloudError(error));
    }
    // Anything else (a Kubernetes API error, a bug) is retried with backoff by the queue.
    throw error;
  }
}

/** Thrown for failures worth retrying with backoff; the queue does that. */
export class TransientReconcileError extends Error {
  override readonly name = 'TransientReconcileError';
  override readonly cause: CloudError;
  constructor(message: string, cause: CloudError) {
    super(message);
    this.cause = cause;
  }
}
