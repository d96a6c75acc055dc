// The Kubernetes side of the controller: read a SecurityGroupRestore fresh, write its status through the status
// subresource only (a merge patch carrying the resourceVersion read, so a concurrent writer makes it 409 and the key
// is requeued), read a credentials Secret, record Events. The controller never writes spec.

import * as k8s from '@kubernetes/client-node';
import { API_GROUP, API_VERSION, PLURAL } from '../api/types.ts';
import type { SecurityGroupRestore, SecurityGroupRestoreStatus } from '../api/types.ts';

export const FIELD_MANAGER = 'sgrestore-controller';

export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';
  readonly statusCode: number | undefined;
  constructor(message: string, statusCode: number | undefined) {
    super(message);
    this.statusCode = statusCode;
  }
}

export function statusCodeOf(error: unknown): number | undefined {
  if (error instanceof k8s.ApiException) return error.code;
  if (error instanceof KubeApiError) return error.statusCode;
  const code = (error as { code?: unknown; statusCode?: unknown } | null)?.code ?? (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

export type SecretRead =
  | { readonly kind: 'found'; readonly data: Record<string, string> }
  | { readonly kind: 'notFound' }
  | { readonly kind: 'forbidden'; readonly message: string };

export interface EventInput {
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly message: string;
}

export class KubeClient {
  readonly kubeConfig: k8s.KubeConfig;
  private readonly custom: k8s.CustomObjectsApi;
  private readonly core: k8s.CoreV1Api;
  private readonly instance: string;

  constructor(kubeConfig: k8s.KubeConfig, instance: string) {
    this.kubeConfig = kubeConfig;
    this.custom = kubeConfig.makeApiClient(k8s.CustomObjectsApi);
    this.core = kubeConfig.makeApiClient(k8s.CoreV1Api);
    this.instance = instance;
  }

  async getRestore(namespace: string, name: string): Promise<SecurityGroupRestore | undefined> {
    try {
      return (await this.custom.getNamespacedCustomObject({ group: API_GROUP, version: API_VERSION, namespace, plural: PLURAL, name })) as SecurityGroupRestore;
    } catch (error) {
      if (statusCodeOf(error) === 404) return undefined;
      throw error;
    }
  }

  async listRestores(namespace?: string, labelSelector?: string): Promise<{ items: SecurityGroupRestore[]; metadata?: { resourceVersion?: string } }> {
    const common = { group: API_GROUP, version: API_VERSION, ...(labelSelector ? { labelSelector } : {}) };
    const list = namespace
      ? await this.custom.listNamespacedCustomObject({ ...common, plural: PLURAL, namespace })
      : await this.custom.listCustomObjectForAllNamespaces({ ...common, resourcePlural: PLURAL });
    return list as { items: SecurityGroupRestore[]; metadata?: { resourceVersion?: string } };
  }

  /** Writes status only; `resourceVersion` makes it fail with 409 if the object changed since it was read. */
  async patchStatus(restore: SecurityGroupRestore, status: SecurityGroupRestoreStatus): Promise<SecurityGroupRestore> {
    const { namespace = '', name = '', resourceVersion } = restore.metadata;
    const body = { metadata: { ...(resourceVersion ? { resourceVersion } : {}) }, status };
    return (await this.custom.patchNamespacedCustomObjectStatus(
      { group: API_GROUP, version: API_VERSION, namespace, plural: PLURAL, name, body, fieldManager: FIELD_MANAGER },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    )) as SecurityGroupRestore;
  }

  async readSecret(namespace: string, name: string): Promise<SecretRead> {
    try {
      const secret = await this.core.readNamespacedSecret({ namespace, name });
      const data: Record<string, string> = {};
      for (const [key, value] of Object.entries(secret.data ?? {})) data[key] = Buffer.from(value, 'base64').toString('utf8');
      for (const [key, value] of Object.entries(secret.stringData ?? {})) data[key] = value;
      return { kind: 'found', data };
    } catch (error) {
      const code = statusCodeOf(error);
      if (code === 404) return { kind: 'notFound' };
      if (code === 403) return { kind: 'forbidden', message: `the operator may not read Secret ${namespace}/${name}` };
      throw error;
    }
  }

  /** A core/v1 Event on the restore; failures to record are not the reconcile's failures. */
  async recordEvent(restore: SecurityGroupRestore, event: EventInput): Promise<void> {
    const { namespace = 'default', name = '', uid, resourceVersion } = restore.metadata;
    const now = new Date();
    try {
      await this.core.createNamespacedEvent({
        namespace,
        body: {
          metadata: { generateName: `${name}.`, namespace },
          involvedObject: { apiVersion: `${API_GROUP}/${API_VERSION}`, kind: 'SecurityGroupRestore', name, namespace, ...(uid ? { uid } : {}), ...(resourceVersion ? { resourceVersion } : {}) },
          type: event.type,
          reason: event.reason,
          message: event.message.slice(0, 1024),
          source: { component: 'sgrestore' },
          reportingComponent: 'sgrestore.io/controller',
          reportingInstance: this.instance,
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
          action: event.reason,
        },
      });
    } catch {
      // Events are best effort (and RBAC may deny them); the status carries the same facts.
    }
  }
}
