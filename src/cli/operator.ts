// `sgrestore run` (the operator) and `sgrestore approve` (a person's approval of a Manual restore's plan; installed
// also as `kubectl-sgrestore`, so `kubectl sgrestore approve NAME -n NS` works).

import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { API_GROUP, API_VERSION, PLURAL } from '../api/types.ts';
import type { SecurityGroupRestore } from '../api/types.ts';
import { parseDuration } from '../api/types.ts';
import { parseEndpoint } from '../cloud/gateway.ts';
import { loadKubeConfig, startController } from '../controller/manager.ts';
import { statusCodeOf } from '../controller/kube.ts';
import { createLogger } from '../observability/logger.ts';
import type { CliIo } from './main.ts';

const EXIT_OK = 0;
const EXIT_FAILURE = 1;
const EXIT_INVALID = 2;

export const RUN_USAGE = `Usage: sgrestore run [flags]

Runs the SecurityGroupRestore operator. Kubernetes access: --kubeconfig, else KUBECONFIG, else the in-cluster
service account. ECS credentials: each restore's spec.credentialsSecretRef, or the operator's own default chain in
the namespaces --default-credentials-namespaces allows.

  --kubeconfig PATH                      kubeconfig file
  --namespaces a,b                       watch only these namespaces (default: all)
  --label-selector SEL                   watch only restores with these labels (split work across deployments)
  --concurrency N                        parallel reconciles (default 4)
  --ecs-endpoint URL                     ECS endpoint override (also SGRESTORE_ECS_ENDPOINT)
  --ecs-rate-limit N                     ECS calls per second per credential (default 10)
  --ecs-timeout SEC                      per-call timeout (default 30)
  --default-credentials-namespaces a,b   namespaces whose restores may use the operator's own credentials ('*' = all; default none)
  --leader-elect / --no-leader-elect     Lease-based leader election (default on)
  --leader-election-namespace NS         default $POD_NAMESPACE or sgrestore-system
  --leader-election-id NAME              Lease name (default sgrestore-controller)
  --metrics-bind-address ADDR            /metrics (default :8080)
  --health-probe-bind-address ADDR       /healthz and /readyz (default :8081)
  --relist-interval DUR                  periodic relist, the safety-net drift timer (default 10m)
  --watch-stall-timeout DUR              restart a watch silent this long (default 5m)
  --shutdown-grace-period DUR            wait this long for in-flight reconciles on SIGTERM (default 30s)
  --log-level LEVEL, --log-format json|human   (default info, json)`;

const RUN_OPTIONS = {
  kubeconfig: { type: 'string' },
  namespaces: { type: 'string' },
  'label-selector': { type: 'string' },
  concurrency: { type: 'string' },
  'ecs-endpoint': { type: 'string' },
  'ecs-rate-limit': { type: 'string' },
  'ecs-timeout': { type: 'string' },
  'default-credentials-namespaces': { type: 'string' },
  'leader-elect': { type: 'boolean' },
  'no-leader-elect': { type: 'boolean' },
  'leader-election-namespace': { type: 'string' },
  'leader-election-id': { type: 'string' },
  'metrics-bind-address': { type: 'string' },
  'health-probe-bind-address': { type: 'string' },
  'relist-interval': { type: 'string' },
  'watch-stall-timeout': { type: 'string' },
  'shutdown-grace-period': { type: 'string' },
  'log-level': { type: 'string' },
  'log-format': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

const list = (text: string | undefined): string[] => (text ?? '').split(',').map((s) => s.trim()).filter(Boolean);

export async function runCommand(argv: readonly string[], io: CliIo): Promise<number> {
  let values;
  try {
    values = parseArgs({ args: [...argv], options: RUN_OPTIONS, strict: true }).values;
  } catch (error) {
    io.stderr.write(`sgrestore run: ${(error as Error).message}\n`);
    return EXIT_INVALID;
  }
  if (values.help) {
    io.stdout.write(`${RUN_USAGE}\n`);
    return EXIT_OK;
  }
  const problems: string[] = [];
  const int = (name: string, text: string | undefined, fallback: number, min: number, max: number): number => {
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!Number.isFinite(n) || n < min || n > max) problems.push(`--${name}: "${text}" is not a number between ${min} and ${max}`);
    return n;
  };
  const duration = (name: string, text: string | undefined, fallback: string): number => {
    const ms = parseDuration(text ?? fallback);
    if (ms === undefined) problems.push(`--${name}: "${text}" is not a duration such as 30s, 5m, 1h`);
    return ms ?? 0;
  };
  const concurrency = int('concurrency', values.concurrency, 4, 1, 256);
  const rate = int('ecs-rate-limit', values['ecs-rate-limit'], 10, 0.1, 10_000);
  const timeout = int('ecs-timeout', values['ecs-timeout'], 30, 1, 600);
  const endpoint = values['ecs-endpoint'] ?? (io.env.SGRESTORE_ECS_ENDPOINT || undefined);
  if (endpoint) {
    try {
      parseEndpoint(endpoint);
    } catch (error) {
      problems.push(`--ecs-endpoint: ${(error as Error).message}`);
    }
  }
  const relist = duration('relist-interval', values['relist-interval'], '10m');
  const stall = duration('watch-stall-timeout', values['watch-stall-timeout'], '5m');
  const grace = duration('shutdown-grace-period', values['shutdown-grace-period'], '30s');
  const logFormat = values['log-format'] ?? 'json';
  if (logFormat !== 'json' && logFormat !== 'human') problems.push(`--log-format: "${logFormat}" is neither json nor human`);
  if (problems.length > 0) {
    io.stderr.write(`sgrestore run: ${problems.join('\n')}\n`);
    return EXIT_INVALID;
  }
  const logger = createLogger({ format: logFormat === 'human' ? 'human' : 'json', level: values['log-level'] ?? 'info' });
  let controller;
  try {
    controller = await startController({
      ...(values.kubeconfig && { kubeconfig: values.kubeconfig }),
      namespaces: list(values.namespaces),
      ...(values['label-selector'] && { labelSelector: values['label-selector'] }),
      concurrency,
      ...(endpoint && { ecsEndpoint: endpoint }),
      ecsCallsPerSecond: rate,
      ecsTimeoutMs: timeout * 1000,
      defaultCredentialsNamespaces: list(values['default-credentials-namespaces']),
      leaderElect: values['no-leader-elect'] ? false : values['leader-elect'] ?? true,
      leaderElectionNamespace: values['leader-election-namespace'] ?? io.env.POD_NAMESPACE ?? 'sgrestore-system',
      leaderElectionId: values['leader-election-id'] ?? 'sgrestore-controller',
      metricsAddress: values['metrics-bind-address'] ?? ':8080',
      healthAddress: values['health-probe-bind-address'] ?? ':8081',
      relistIntervalMs: relist,
      stallTimeoutMs: stall,
      shutdownGracePeriodMs: grace,
      logger,
    });
  } catch (error) {
    logger.error('operator failed to start', { error: (error as Error).message });
    return EXIT_FAILURE;
  }
  logger.info('probes listening', { healthPort: controller.healthPort, metricsPort: controller.metricsPort });
  const onSignal = (signal: string) => {
    logger.info('signal received', { signal });
    void controller.stop();
  };
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  process.once('SIGINT', () => onSignal('SIGINT'));
  return controller.done;
}

const APPROVE_OPTIONS = {
  namespace: { type: 'string', short: 'n' },
  kubeconfig: { type: 'string' },
  'plan-hash': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

export const APPROVE_USAGE = `Usage: sgrestore approve NAME [-n NAMESPACE] [--plan-hash HASH] [--kubeconfig PATH]
       kubectl sgrestore approve NAME [-n NAMESPACE]

Approves the plan a Manual SecurityGroupRestore shows in status.preview by copying status.preview.planHash into
spec.approvedPlanHash. With --plan-hash, approves only if the preview still has that hash (what you reviewed).`;

export async function approveCommand(argv: readonly string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: APPROVE_OPTIONS, strict: true, allowPositionals: true });
  } catch (error) {
    io.stderr.write(`sgrestore approve: ${(error as Error).message}\n`);
    return EXIT_INVALID;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout.write(`${APPROVE_USAGE}\n`);
    return EXIT_OK;
  }
  const name = positionals[0];
  if (!name || positionals.length > 1) {
    io.stderr.write(`sgrestore approve: give exactly one SecurityGroupRestore name\n\n${APPROVE_USAGE}\n`);
    return EXIT_INVALID;
  }
  const kc = loadKubeConfig(values.kubeconfig);
  const namespace = values.namespace ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default';
  const api = kc.makeApiClient(k8s.CustomObjectsApi);
  let restore: SecurityGroupRestore;
  try {
    restore = (await api.getNamespacedCustomObject({ group: API_GROUP, version: API_VERSION, namespace, plural: PLURAL, name })) as SecurityGroupRestore;
  } catch (error) {
    if (statusCodeOf(error) === 404) {
      io.stderr.write(`sgrestore approve: SecurityGroupRestore ${namespace}/${name} not found\n`);
      return EXIT_INVALID;
    }
    io.stderr.write(`sgrestore approve: ${(error as Error).message}\n`);
    return EXIT_FAILURE;
  }
  const preview = restore.status?.preview;
  if (!preview?.planHash) {
    io.stderr.write(`sgrestore approve: ${namespace}/${name} has no plan preview yet (status.preview); wait for the operator to plan it\n`);
    return EXIT_INVALID;
  }
  if (restore.status?.observedGeneration !== restore.metadata.generation) {
    io.stderr.write(`sgrestore approve: the preview of ${namespace}/${name} is for an older spec; wait for the operator to plan the current one\n`);
    return EXIT_INVALID;
  }
  if (values['plan-hash'] && values['plan-hash'] !== preview.planHash) {
    io.stderr.write(`sgrestore approve: the preview changed: it is now plan ${preview.planHash}, not ${values['plan-hash']}; review it again\n`);
    return EXIT_INVALID;
  }
  try {
    await api.patchNamespacedCustomObject(
      {
        group: API_GROUP,
        version: API_VERSION,
        namespace,
        plural: PLURAL,
        name,
        // The resourceVersion makes the approval fail if the object changed since we read the preview.
        body: { metadata: { resourceVersion: restore.metadata.resourceVersion }, spec: { approvedPlanHash: preview.planHash } },
        fieldManager: 'sgrestore-approve',
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
  } catch (error) {
    if (statusCodeOf(error) === 409) {
      io.stderr.write(`sgrestore approve: ${namespace}/${name} changed while approving; review it again\n`);
      return EXIT_INVALID;
    }
    io.stderr.write(`sgrestore approve: ${(error as Error).message}\n`);
    return EXIT_FAILURE;
  }
  io.stdout.write(
    `approved plan ${preview.planHash} for ${namespace}/${name}: ${preview.toAdd} to add, ${preview.toUpdate} to update, ${preview.toRemove} to remove, ${preview.skippedSystemRules} system rule(s) skipped\n`,
  );
  return EXIT_OK;
}
