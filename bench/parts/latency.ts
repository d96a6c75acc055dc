// (3) Latency: `kubectl apply` of one small restore until the benchmark's watch sees it Ready, the emulator without
// latency or flow control, the operator with its deployed defaults (concurrency 4, 10 ECS calls/s). One restore at a
// time, a second apart, so each sample is one restore on an idle operator.

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { EcsEmulator } from '../../test/emulator/server.ts';
import type { OperatorProcess } from '../../test/integration/support/operator.ts';
import { createTenants, deletePart, percentile, restoreObject, RestoreTracker, sleep, startBenchOperator } from '../lib/cluster.ts';
import type { Bench } from '../lib/cluster.ts';
import { REGION, scenario } from '../lib/rules.ts';
import type { LatencyResult } from '../lib/report.ts';

const PART = 'latency';

/** `kubectl apply -f -` with the manifest on stdin; resolves when kubectl exits. */
function kubectlApply(bench: Bench, manifest: string): Promise<void> {
  const state = bench.cp.state;
  return new Promise((resolve, reject) => {
    const child = spawn(state.binaries.kubectl, [`--kubeconfig=${state.kubeconfigPath}`, `--cache-dir=${join(state.workDir, 'kube-cache')}`, 'apply', '-f', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`kubectl apply failed (${code}): ${stderr}`))));
    child.stdin.end(manifest);
  });
}

export async function runLatency(bench: Bench, samples: number, log: (line: string) => void): Promise<LatencyResult> {
  const concurrency = 4;
  const ecsRateLimit = 10;
  const scenarios = Array.from({ length: samples + 1 }, (_, i) => scenario(`${PART}${i}`, 3));
  const emulator = await EcsEmulator.start();
  const tracker = new RestoreTracker(bench, PART);
  let operator: OperatorProcess | undefined;
  let namespaces: string[] = [];
  try {
    emulator.seed({ regions: { [REGION]: { securityGroups: scenarios.flatMap((s) => [s.original, s.target]) } } });
    const [credentials] = emulator.credentials;
    if (!credentials) throw new Error('the emulator has no credentials');
    namespaces = await createTenants(bench, `bench-${PART}`, 1, credentials);
    const ns = namespaces[0] ?? 'default';
    await tracker.start();
    operator = await startBenchOperator(bench, emulator.url, { part: PART, concurrency, ecsRateLimit });
    const totals: number[] = [];
    const kubectlTimes: number[] = [];
    // Sample 0 warms up (first TLS connections, first SDK client, kubectl's discovery cache); it is not counted.
    for (let i = 0; i <= samples; i++) {
      const s = scenarios[i];
      if (!s) break;
      const name = `r${i}`;
      // kubectl adds the last-applied annotation itself.
      const manifest = JSON.stringify(restoreObject(ns, name, PART, { originalSecurityGroupId: s.original.id, targetSecurityGroupId: s.target.id, mode: 'Complete' }, { lastApplied: false }));
      const t0 = performance.now();
      await kubectlApply(bench, manifest);
      const applied = performance.now();
      await tracker.waitUntil(`${ns}/${name} Ready`, () => tracker.readyAt.has(`${ns}/${name}`), 60_000);
      const ready = tracker.readyAt.get(`${ns}/${name}`) ?? NaN;
      if (i > 0) {
        totals.push(ready - t0);
        kubectlTimes.push(applied - t0);
      }
      await sleep(1000);
    }
    const round = (x: number) => Math.round(x);
    const result: LatencyResult = {
      p50Ms: round(percentile(totals, 50)),
      p95Ms: round(percentile(totals, 95)),
      samples: totals.length,
      minMs: round(Math.min(...totals)),
      maxMs: round(Math.max(...totals)),
      kubectlP50Ms: round(percentile(kubectlTimes, 50)),
      operator: { concurrency, ecsRateLimit },
      goalP50Ms: 500,
      met: percentile(totals, 50) < 500,
    };
    log(`latency: p50 ${result.p50Ms} ms, p95 ${result.p95Ms} ms over ${result.samples} (kubectl apply itself p50 ${result.kubectlP50Ms} ms)`);
    return result;
  } finally {
    await operator?.stop('SIGTERM');
    await tracker.stop();
    await deletePart(bench, namespaces, PART).catch(() => undefined);
    await emulator.stop();
  }
}
