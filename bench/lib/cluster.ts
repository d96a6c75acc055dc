// The benchmark's world: a real local control plane (etcd + kube-apiserver) with the CRD and deploy/ applied, the
// operator as its own process under deploy/'s ServiceAccount, tenant namespaces with a credentials Secret and the
// RoleBinding the operator needs, bulk creation of SecurityGroupRestores, and a list+watch tracker that records
// when each restore became Ready (surviving a kube-apiserver restart).

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { API_GROUP, API_VERSION, PLURAL } from '../../src/api/types.ts';
import type { SecurityGroupRestore, SecurityGroupRestoreSpec } from '../../src/api/types.ts';
import { ensureBinaries } from '../../test/control-plane/build.ts';
import { ControlPlane } from '../../test/control-plane/controlplane.ts';
import type { OperatorProcess } from '../../test/integration/support/operator.ts';
import { buildOperator, spawnOperator } from './operator.ts';
import type { OperatorBuild } from './operator.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const OPERATOR_NS = 'sgrestore-system';
export const OPERATOR_SA = 'sgrestore-controller';
/** Every benchmark object carries this label with the part's name; each part's operator watches only its own. */
export const PART_LABEL = 'bench.sgrestore.io/part';

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface Bench {
  readonly cp: ControlPlane;
  readonly kc: k8s.KubeConfig;
  readonly custom: k8s.CustomObjectsApi;
  readonly core: k8s.CoreV1Api;
  readonly rbac: k8s.RbacAuthorizationV1Api;
  /** kubeconfig of deploy/'s ServiceAccount: the operator runs with exactly the RBAC it has in a cluster. */
  readonly operatorKubeconfig: string;
  /** The operator the parts run: compiled as in the image, unless BENCH_OPERATOR=source. */
  readonly operator: OperatorBuild;
  kubectl(args: readonly string[], input?: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startBench(log: (line: string) => void): Promise<Bench> {
  const [binaries, operator] = await Promise.all([ensureBinaries({ log: (line) => log(`cluster:build: ${line}`) }), buildOperator()]);
  log(`operator: ${operator.kind} (${operator.entry})`);
  const cp = new ControlPlane({ binaries, log: (line) => log(`control-plane: ${line}`) });
  try {
    await cp.start();
    const kubectl = async (args: readonly string[], input?: string): Promise<string> => {
      const result = await cp.kubectl(args, input === undefined ? {} : { input });
      if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${result.stderr}`);
      return result.stdout;
    };
    await kubectl(['apply', '-f', `${ROOT}crds/`]);
    await kubectl(['wait', '--for=condition=Established', 'crd/securitygrouprestores.ecs.sgrestore.io', '--timeout=60s']);
    await kubectl(['apply', '-k', `${ROOT}deploy/`]);
    const operatorKubeconfig = await cp.serviceAccountKubeconfig(OPERATOR_NS, OPERATOR_SA);
    const kc = pooledKubeConfig(cp.kubeconfigPath);
    return {
      cp,
      kc,
      custom: kc.makeApiClient(k8s.CustomObjectsApi),
      core: kc.makeApiClient(k8s.CoreV1Api),
      rbac: kc.makeApiClient(k8s.RbacAuthorizationV1Api),
      operatorKubeconfig,
      operator,
      kubectl,
      stop: async () => {
        await cp.stop();
        await operator.cleanup();
      },
    };
  } catch (error) {
    await cp.stop();
    await operator.cleanup();
    throw error;
  }
}

/**
 * The benchmark's own API clients share one connection pool: client-node 2.0's generated clients otherwise open a new
 * TLS connection for every request (see docs/performance.md), and the benchmark must not steal the CPU it measures.
 */
class PooledKubeConfig extends k8s.KubeConfig {
  private shared: ReturnType<k8s.RequestContext['getDispatcher']>;

  override async applySecurityAuthentication(context: k8s.RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    const fresh = context.getDispatcher();
    if (!fresh) return;
    this.shared ??= fresh;
    context.setDispatcher(this.shared);
  }
}

function pooledKubeConfig(path: string): k8s.KubeConfig {
  const kc = new PooledKubeConfig();
  kc.loadFromFile(path);
  return kc;
}

/** Namespaces whose restores the operator may serve: a credentials Secret and the RoleBinding to read it. */
export async function createTenants(bench: Bench, prefix: string, count: number, credentials: { accessKeyId: string; accessKeySecret: string }): Promise<string[]> {
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const ns = `${prefix}-${i}`;
    await bench.core.createNamespace({ body: { metadata: { name: ns } } });
    await bench.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'ecs-credentials' }, type: 'Opaque', stringData: { ...credentials } } });
    await bench.rbac.createNamespacedRoleBinding({
      namespace: ns,
      body: {
        metadata: { name: 'sgrestore-credentials-reader' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'sgrestore-credentials-reader' },
        subjects: [{ kind: 'ServiceAccount', name: OPERATOR_SA, namespace: OPERATOR_NS }],
      },
    });
    names.push(ns);
  }
  return names;
}

/**
 * A SecurityGroupRestore as `kubectl apply` would create it: with the kubectl.kubernetes.io/last-applied-configuration
 * annotation (the applied manifest again), which every object applied client-side carries and the informer caches.
 */
export function restoreObject(
  namespace: string,
  name: string,
  part: string,
  spec: Omit<SecurityGroupRestoreSpec, 'regionId'> & { regionId?: string },
  options: { lastApplied?: boolean } = {},
): SecurityGroupRestore {
  const manifest: SecurityGroupRestore = {
    apiVersion: `${API_GROUP}/${API_VERSION}`,
    kind: 'SecurityGroupRestore',
    metadata: { name, namespace, labels: { [PART_LABEL]: part } },
    spec: { regionId: 'cn-hangzhou', credentialsSecretRef: { name: 'ecs-credentials' }, ...spec },
  };
  if (options.lastApplied === false) return manifest;
  return { ...manifest, metadata: { ...manifest.metadata, annotations: { 'kubectl.kubernetes.io/last-applied-configuration': `${JSON.stringify(manifest)}\n` } } };
}

/** Creates the objects through the API, `concurrency` requests at a time (kubectl creates one after another). */
export async function createAll(bench: Bench, objects: readonly SecurityGroupRestore[], concurrency = 8): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < objects.length) {
      const obj = objects[next++];
      if (!obj) continue;
      for (let attempt = 1; ; attempt++) {
        try {
          await bench.custom.createNamespacedCustomObject({ group: API_GROUP, version: API_VERSION, namespace: obj.metadata.namespace ?? 'default', plural: PLURAL, body: obj });
          break;
        } catch (error) {
          const code = (error as { code?: unknown }).code;
          if (code === 409) break; // created by an earlier attempt whose answer was lost
          if (attempt >= 10) throw error;
          await sleep(500 * attempt);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/** Deletes a part's restores (one DeleteCollection per namespace); nothing holds a finalizer on them. */
export async function deletePart(bench: Bench, namespaces: readonly string[], part: string): Promise<void> {
  for (const namespace of namespaces) {
    await bench.custom.deleteCollectionNamespacedCustomObject({ group: API_GROUP, version: API_VERSION, namespace, plural: PLURAL, labelSelector: `${PART_LABEL}=${part}` });
  }
}

export const keyOf = (r: SecurityGroupRestore): string => `${r.metadata.namespace ?? ''}/${r.metadata.name ?? ''}`;

export function isReady(r: SecurityGroupRestore): boolean {
  const ready = r.status?.conditions?.find((c) => c.type === 'Ready');
  return ready?.status === 'True' && r.status?.observedGeneration === r.metadata.generation;
}

export function isFailed(r: SecurityGroupRestore): boolean {
  return r.status?.phase === 'Failed';
}

/**
 * List+watch of one part's restores from the benchmark process: the latest object per key, and the first time each
 * was seen Ready (performance.now() clock of this process). Relists after any watch error, so it rides out a
 * kube-apiserver restart.
 */
export class RestoreTracker {
  readonly latest = new Map<string, SecurityGroupRestore>();
  readonly readyAt = new Map<string, number>();
  readonly failedAt = new Map<string, number>();
  private readonly bench: Bench;
  private readonly labelSelector: string;
  private readonly waiters = new Set<() => void>();
  private abort: AbortController | undefined;
  private stopped = false;
  private loop: Promise<void> | undefined;
  restarts = 0;

  constructor(bench: Bench, part: string) {
    this.bench = bench;
    this.labelSelector = `${PART_LABEL}=${part}`;
  }

  async start(): Promise<void> {
    let first: () => void = () => undefined;
    const listed = new Promise<void>((resolve) => (first = resolve));
    this.loop = this.run(first);
    await listed;
  }

  private observe(r: SecurityGroupRestore, deleted = false): void {
    const key = keyOf(r);
    const now = performance.now();
    if (deleted) this.latest.delete(key);
    else this.latest.set(key, r);
    if (!deleted && isReady(r) && !this.readyAt.has(key)) this.readyAt.set(key, now);
    if (!deleted && isFailed(r) && !this.failedAt.has(key)) this.failedAt.set(key, now);
    for (const wake of [...this.waiters]) wake();
  }

  private async run(listed: () => void): Promise<void> {
    const watch = new k8s.Watch(this.bench.kc);
    while (!this.stopped) {
      try {
        const list = (await this.bench.custom.listCustomObjectForAllNamespaces({ group: API_GROUP, version: API_VERSION, resourcePlural: PLURAL, labelSelector: this.labelSelector })) as {
          items: SecurityGroupRestore[];
          metadata?: { resourceVersion?: string };
        };
        const seen = new Set<string>();
        for (const item of list.items) {
          seen.add(keyOf(item));
          this.observe(item);
        }
        for (const key of [...this.latest.keys()]) if (!seen.has(key)) this.latest.delete(key);
        listed();
        await new Promise<void>((resolve) => {
          watch
            .watch(
              `/apis/${API_GROUP}/${API_VERSION}/${PLURAL}`,
              { labelSelector: this.labelSelector, resourceVersion: list.metadata?.resourceVersion, allowWatchBookmarks: true },
              (type: string, obj: SecurityGroupRestore) => {
                if (type === 'ADDED' || type === 'MODIFIED') this.observe(obj);
                else if (type === 'DELETED') this.observe(obj, true);
              },
              () => resolve(),
            )
            .then((abort) => {
              this.abort = abort;
              if (this.stopped) abort.abort();
            })
            .catch(() => resolve());
        });
      } catch {
        // The API server is away (restarting): list again shortly.
      }
      if (this.stopped) break;
      this.restarts++;
      await sleep(250);
    }
  }

  /** Resolves when `predicate` holds for what has been observed, or rejects after `timeoutMs`. */
  async waitUntil(what: string, predicate: () => boolean, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.waiters.delete(wake);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(wake, Math.min(left, 1000));
        this.waiters.add(wake);
      });
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort?.abort();
    for (const wake of [...this.waiters]) wake();
    await this.loop;
  }
}

export interface OperatorSettings {
  readonly part: string;
  readonly concurrency: number;
  readonly ecsRateLimit: number;
}

/** Node flags for the operator process (BENCH_NODE_ARGS, e.g. "--max-old-space-size=128 --max-semi-space-size=1"). */
export function operatorNodeArgs(): string[] {
  return (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
}

/** `sgrestore run` as its own process, as deployed: leader election on, deploy/'s ServiceAccount. */
export async function startBenchOperator(bench: Bench, ecsEndpoint: string, settings: OperatorSettings): Promise<OperatorProcess> {
  const operator = spawnOperator({
    entry: bench.operator.entry,
    nodeArgs: operatorNodeArgs(),
    kubeconfig: bench.operatorKubeconfig,
    ecsEndpoint,
    args: [
      '--leader-elect',
      `--leader-election-namespace=${OPERATOR_NS}`,
      `--label-selector=${PART_LABEL}=${settings.part}`,
      `--concurrency=${settings.concurrency}`,
      `--ecs-rate-limit=${settings.ecsRateLimit}`,
      '--log-level=info',
    ],
  });
  await operator.waitForLog(/controller started/, 90_000);
  return operator;
}

/** Resident set size of a process in MiB (VmRSS of /proc/PID/status), and its peak (VmHWM). */
export function rssOf(pid: number): { rssMb: number; peakMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMb: Number((kb('VmRSS') / 1024).toFixed(1)), peakMb: Number((kb('VmHWM') / 1024).toFixed(1)) };
}

/** One sample of the operator's /metrics. */
export async function scrapeMetrics(operator: OperatorProcess): Promise<Map<string, number>> {
  const port = await operator.healthPort();
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

/** Sum of the samples of one metric (over all label sets). */
export function metricSum(metrics: Map<string, number>, name: string): number {
  let sum = 0;
  for (const [key, value] of metrics) if (key === name || key.startsWith(`${name}{`)) sum += value;
  return sum;
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  // Nearest rank: the smallest value with at least p % of the samples at or below it.
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1] ?? NaN;
}
