// Wires the operator together: kubeconfig, probe and metrics server, leader election, the supervised informer, the
// work queue and the reconciler; and takes it apart again on SIGTERM, letting in-flight cloud calls finish.

import { hostname } from 'node:os';
import * as k8s from '@kubernetes/client-node';
import type { SecurityGroupRestore } from '../api/types.ts';
import { createEcsGateway, instrumentGateway } from '../cloud/gateway.ts';
import type { EcsGateway, StaticCredentials } from '../cloud/gateway.ts';
import { CloudError } from '../cloud/errors.ts';
import { startProbeServer } from '../observability/http.ts';
import type { Logger } from '../observability/logger.ts';
import { ControllerMetrics, CONTROLLER_NAME } from '../observability/metrics.ts';
import { RestoreInformer } from './informer.ts';
import { KubeClient } from './kube.ts';
import { LeaderElector } from './leader.ts';
import { WorkQueue } from './queue.ts';
import { TokenBuckets } from './ratelimit.ts';
import { Reconciler, TransientReconcileError } from './reconcile.ts';

export interface ControllerOptions {
  readonly kubeconfig?: string;
  readonly namespaces: readonly string[];
  readonly labelSelector?: string;
  readonly concurrency: number;
  readonly ecsEndpoint?: string;
  readonly ecsCallsPerSecond: number;
  readonly ecsTimeoutMs?: number;
  readonly defaultCredentialsNamespaces: readonly string[];
  readonly leaderElect: boolean;
  readonly leaderElectionNamespace: string;
  readonly leaderElectionId: string;
  readonly metricsAddress: string;
  readonly healthAddress: string;
  readonly relistIntervalMs: number;
  readonly stallTimeoutMs: number;
  readonly shutdownGracePeriodMs: number;
  readonly logger: Logger;
}

export function loadKubeConfig(path: string | undefined): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  if (path) kc.loadFromFile(path);
  else if (process.env.KUBECONFIG) kc.loadFromDefault();
  else if (process.env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster();
  else kc.loadFromDefault();
  return kc;
}

export const keyOf = (obj: SecurityGroupRestore): string => `${obj.metadata.namespace ?? ''}/${obj.metadata.name ?? ''}`;

/** The restore onto the same original group that came first (oldest, then by key), if it is not `restore`. */
export function firstConflicting(restore: SecurityGroupRestore, all: readonly SecurityGroupRestore[]): SecurityGroupRestore | undefined {
  const same = all.filter(
    (r) =>
      !r.metadata.deletionTimestamp &&
      r.spec.suspend !== true &&
      r.spec.regionId === restore.spec.regionId &&
      r.spec.originalSecurityGroupId === restore.spec.originalSecurityGroupId,
  );
  if (!same.some((r) => keyOf(r) === keyOf(restore))) same.push(restore);
  const time = (r: SecurityGroupRestore) => new Date(r.metadata.creationTimestamp ?? 0).getTime();
  same.sort((a, b) => time(a) - time(b) || (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0));
  const first = same[0];
  return first && keyOf(first) !== keyOf(restore) ? first : undefined;
}

export interface RunningController {
  readonly healthPort: number;
  readonly metricsPort: number;
  stop(): Promise<void>;
  /** Resolves when the controller has stopped (SIGTERM, stop(), or lost leadership). */
  readonly done: Promise<number>;
}

export async function startController(options: ControllerOptions): Promise<RunningController> {
  const log = options.logger;
  const kc = loadKubeConfig(options.kubeconfig);
  const identity = `${process.env.POD_NAME ?? hostname()}_${process.pid}`;
  const kube = new KubeClient(kc, identity);
  const metrics = new ControllerMetrics();
  metrics.maxConcurrentReconciles.set({ controller: CONTROLLER_NAME }, options.concurrency);
  const buckets = new TokenBuckets(options.ecsCallsPerSecond);
  const gateways = new Map<string, EcsGateway>();
  const gatewayFor = (credentials: StaticCredentials | undefined, regionId: string): EcsGateway => {
    const key = `${regionId}|${credentials?.accessKeyId ?? ''}|${credentials?.accessKeySecret ?? ''}|${credentials?.securityToken ?? ''}`;
    let gateway = gateways.get(key);
    if (!gateway) {
      gateway = instrumentGateway(createEcsGateway({
        regionId,
        ...(credentials && { credentials }),
        ...(options.ecsEndpoint && { endpoint: options.ecsEndpoint }),
        ...(options.ecsTimeoutMs && { timeoutMs: options.ecsTimeoutMs }),
      }), (action, code) => metrics.ecsCalls.inc({ action, code }));
      gateways.set(key, gateway);
    }
    return gateway;
  };

  let currentRestores: () => SecurityGroupRestore[] = () => [];
  const reconciler = new Reconciler({
    kube,
    gatewayFor,
    defaultCredentialsAllowed: (ns) => options.defaultCredentialsNamespaces.includes(ns) || options.defaultCredentialsNamespaces.includes('*'),
    findConflict: (restore) => firstConflicting(restore, currentRestores()),
    beforeCloudCall: (credentialKey) => () => buckets.take(credentialKey),
    logger: log,
  });

  const queueName = CONTROLLER_NAME;
  const makeQueue = () =>
    new WorkQueue({
      concurrency: options.concurrency,
      baseDelayMs: 1_000,
      maxDelayMs: 60_000,
      metrics: {
        onAdd: () => metrics.queueAdds.inc({ name: queueName }),
        onRetry: () => metrics.queueRetries.inc({ name: queueName }),
        onDepth: (d) => metrics.queueDepth.set({ name: queueName }, d),
        onQueueDuration: (s) => metrics.queueDuration.observe({ name: queueName }, s),
        onWorkDuration: (s, outcome) => {
          metrics.workDuration.observe({ name: queueName }, s);
          metrics.reconcileTime.observe({ controller: CONTROLLER_NAME }, s);
          metrics.reconcileTotal.inc({ controller: CONTROLLER_NAME, result: outcome });
          if (outcome === 'error') metrics.reconcileErrors.inc({ controller: CONTROLLER_NAME });
        },
        onActiveWorkers: (n) => metrics.activeWorkers.set({ controller: CONTROLLER_NAME }, n),
      },
      onError: (key, error) => {
        const cloud = error instanceof TransientReconcileError ? error.cause : error instanceof CloudError ? error : undefined;
        log.warn('reconcile failed; retrying with backoff', { key, error: (error as Error)?.message ?? String(error), ...(cloud && { code: cloud.code, requestId: cloud.requestId }) });
      },
    });

  // Status-only updates (our own writes) must not trigger a reconcile: only new generations, label or annotation
  // changes, and deletions do. Deleting a restore wakes the others on the same original group (Conflict).
  const fingerprint = (o: SecurityGroupRestore) => JSON.stringify([o.metadata.generation, o.metadata.labels ?? {}, o.metadata.annotations ?? {}, o.metadata.deletionTimestamp ?? null]);

  /** One term of leadership: its own cache and queue, thrown away when leadership is lost. */
  const makeTerm = () => {
    const queue = makeQueue();
    const lastSeen = new Map<string, string>();
    const informer: RestoreInformer = new RestoreInformer(
      kube,
      {
        onAdd: (obj) => {
          lastSeen.set(keyOf(obj), fingerprint(obj));
          queue.add(keyOf(obj));
        },
        onUpdate: (obj) => {
          const key = keyOf(obj);
          const seen = lastSeen.get(key);
          lastSeen.set(key, fingerprint(obj));
          if (seen !== fingerprint(obj)) queue.add(key);
        },
        onDelete: (obj) => {
          lastSeen.delete(keyOf(obj));
          for (const other of informer.list()) {
            if (other.spec.originalSecurityGroupId === obj.spec.originalSecurityGroupId && other.spec.regionId === obj.spec.regionId) queue.add(keyOf(other));
          }
        },
        onResync: (objects) => objects.forEach((o) => queue.add(keyOf(o))),
      },
      {
        namespaces: options.namespaces,
        ...(options.labelSelector && { labelSelector: options.labelSelector }),
        relistIntervalMs: options.relistIntervalMs,
        stallTimeoutMs: options.stallTimeoutMs,
        log: (level, message, meta) => log[level](message, meta),
      },
    );
    return {
      informer,
      start: async () => {
        await informer.start();
        queue.start((key) => reconciler.reconcile(key));
      },
      stop: async () => {
        const grace = new Promise<void>((resolve) => setTimeout(resolve, options.shutdownGracePeriodMs).unref());
        await informer.stop();
        await Promise.race([queue.shutdown(), grace]);
      },
    };
  };
  let term: ReturnType<typeof makeTerm> | undefined;
  currentRestores = () => term?.informer.list() ?? [];

  let leader: LeaderElector | undefined;
  let resolveDone: (code: number) => void = () => undefined;
  const done = new Promise<number>((resolve) => (resolveDone = resolve));

  const healthChecks = [{ name: 'informer', check: () => term?.informer.health() }];
  const readyChecks = [{ name: 'informer-sync', check: () => (term && !term.informer.hasSynced ? 'cache not synced yet' : undefined) }];
  const sameAddress = options.metricsAddress === options.healthAddress;
  const health = await startProbeServer({ address: options.healthAddress, healthz: healthChecks, readyz: readyChecks, ...(sameAddress && { metrics: () => metrics.render() }) });
  const metricsServer = sameAddress ? health : await startProbeServer({ address: options.metricsAddress, metrics: () => metrics.render() });

  const startWork = async () => {
    metrics.leader.set({ name: options.leaderElectionId }, 1);
    term = makeTerm();
    await term.start();
    log.info('controller started', { namespaces: options.namespaces.length ? options.namespaces : ['*'], concurrency: options.concurrency, restores: term.informer.list().length });
  };
  const stopWork = async () => {
    metrics.leader.set({ name: options.leaderElectionId }, 0);
    const ending = term;
    term = undefined;
    await ending?.stop();
  };

  let stopping: Promise<void> | undefined;
  const stop = (code = 0): Promise<void> => {
    stopping ??= (async () => {
      log.info('shutting down: finishing in-flight reconciles', { graceMs: options.shutdownGracePeriodMs });
      await stopWork();
      await leader?.stop();
      await health.close();
      if (!sameAddress) await metricsServer.close();
      log.info('stopped');
      resolveDone(code);
    })();
    return stopping;
  };

  const campaign = () => {
    leader = new LeaderElector(kc, {
      namespace: options.leaderElectionNamespace,
      name: options.leaderElectionId,
      identity,
      onStartedLeading: () => {
        startWork().catch((error: unknown) => {
          log.error('controller failed to start', { error: String(error) });
          void stop(1);
        });
      },
      onStoppedLeading: () => {
        // Stop acting at once (another replica may lead now), finish what is in flight, then stand again.
        log.error('leadership lost: controller stopped; standing for election again');
        void stopWork().then(() => {
          if (!stopping) campaign();
        });
      },
      log: (message, meta) => log.info(message, meta),
    });
    leader.start();
  };

  if (options.leaderElect) {
    metrics.leader.set({ name: options.leaderElectionId }, 0);
    campaign();
  } else {
    await startWork();
  }

  return { healthPort: health.port, metricsPort: metricsServer.port, stop: () => stop(0), done };
}
