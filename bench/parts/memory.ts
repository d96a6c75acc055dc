// (4) Memory: the operator's resident set with N restores in its informer cache, idle. The restores are real work
// first (each a small Complete restore the operator applies, so each cached object carries the status a Completed
// restore has: conditions, preview, applied), then the queue drains and RSS is read from /proc/PID/status.

import { performance } from 'node:perf_hooks';
import { EcsEmulator } from '../../test/emulator/server.ts';
import type { OperatorProcess } from '../../test/integration/support/operator.ts';
import { createAll, createTenants, deletePart, metricSum, restoreObject, RestoreTracker, rssOf, scrapeMetrics, sleep, startBenchOperator } from '../lib/cluster.ts';
import type { Bench } from '../lib/cluster.ts';
import { REGION, scenario } from '../lib/rules.ts';
import type { MemoryResult } from '../lib/report.ts';

const PART = 'memory';

export interface MemoryOptions {
  readonly restores: number;
  readonly namespaces: number;
  readonly concurrency: number;
  /** How long to follow RSS once idle, at most. */
  readonly settleMs: number;
}

/** Idle: nothing queued and no worker busy, twice in a row two seconds apart. */
async function waitIdle(operator: OperatorProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let quiet = 0;
  while (quiet < 2) {
    if (Date.now() > deadline) throw new Error('the operator did not become idle');
    const m = await scrapeMetrics(operator);
    quiet = metricSum(m, 'workqueue_depth') === 0 && metricSum(m, 'controller_runtime_active_workers') === 0 ? quiet + 1 : 0;
    await sleep(2000);
  }
}

export async function runMemory(bench: Bench, o: MemoryOptions, log: (line: string) => void): Promise<MemoryResult> {
  const scenarios = Array.from({ length: o.restores }, (_, i) => scenario(`${PART}${String(i).padStart(5, '0')}`, 3, 2));
  const emulator = await EcsEmulator.start();
  const tracker = new RestoreTracker(bench, PART);
  let operator: OperatorProcess | undefined;
  let namespaces: string[] = [];
  try {
    emulator.seed({ regions: { [REGION]: { securityGroups: scenarios.flatMap((s) => [s.original, s.target]) } } });
    const [credentials] = emulator.credentials;
    if (!credentials) throw new Error('the emulator has no credentials');
    namespaces = await createTenants(bench, `bench-${PART}`, o.namespaces, credentials);
    await tracker.start();
    // Only the setup is sped up: no ECS flow control, so 5,000 restores are applied in minutes, not hours.
    operator = await startBenchOperator(bench, emulator.url, { part: PART, concurrency: o.concurrency, ecsRateLimit: 10_000 });
    const pid = operator.child.pid ?? 0;
    await sleep(3000);
    const baseline = rssOf(pid).rssMb;
    const t0 = performance.now();
    const objects = scenarios.map((s, i) =>
      restoreObject(namespaces[i % namespaces.length] ?? 'default', `r${String(i).padStart(5, '0')}`, PART, {
        originalSecurityGroupId: s.original.id,
        targetSecurityGroupId: s.target.id,
        mode: 'Complete',
      }),
    );
    await createAll(bench, objects);
    let lastReport = Date.now();
    await tracker.waitUntil(`${o.restores} restores Ready`, () => {
      if (Date.now() - lastReport > 15_000) {
        lastReport = Date.now();
        log(`memory: ${tracker.readyAt.size} of ${o.restores} Ready, RSS ${rssOf(pid).rssMb} MB`);
      }
      return tracker.readyAt.size + tracker.failedAt.size >= o.restores;
    }, 20 * 60_000);
    if (tracker.failedAt.size > 0) throw new Error(`memory: ${tracker.failedAt.size} restore(s) Failed`);
    const setupSeconds = (performance.now() - t0) / 1000;
    await waitIdle(operator, 120_000);
    emulator.clearCalls();
    // Idle from here. Just drained, the heap still holds the burst's garbage and V8 keeps the young generation it
    // grew; V8's memory reducer shrinks both once allocation has stayed low for a while. So RSS is followed every
    // 5 s until it has fallen and stayed put for 30 s, or for at most settleMs.
    const drained = rssOf(pid).rssMb;
    const settleStart = performance.now();
    const samples: number[] = [drained];
    let stableSince = performance.now();
    while (performance.now() - settleStart < o.settleMs) {
      await sleep(5000);
      const now = rssOf(pid).rssMb;
      if (Math.abs(now - (samples[samples.length - 1] ?? now)) > 1) stableSince = performance.now();
      samples.push(now);
      if (now < drained * 0.8 && performance.now() - stableSince >= 30_000) break;
    }
    const settleSeconds = (performance.now() - settleStart) / 1000;
    if (emulator.calls().length > 0) throw new Error(`memory: the operator made ${emulator.calls().length} ECS calls while supposedly idle`);
    const { peakMb } = rssOf(pid);
    const rssMb = samples[samples.length - 1] ?? NaN;
    const result: MemoryResult = {
      restores: o.restores,
      rssMb,
      baselineRssMb: baseline,
      peakRssMb: peakMb,
      drainedRssMb: drained,
      settleSeconds: Number(settleSeconds.toFixed(0)),
      perRestoreKb: Math.round(((rssMb - baseline) * 1024) / o.restores),
      setupSeconds: Number(setupSeconds.toFixed(1)),
      operatorBuild: bench.operator.kind,
      goalMb: 200,
      met: rssMb < 200,
    };
    log(`memory: RSS ${rssMb} MB idle with ${o.restores} restores cached (just drained ${drained} MB, empty ${baseline} MB, peak ${peakMb} MB; every 5 s: ${samples.join(', ')}); setup ${result.setupSeconds} s`);
    return result;
  } finally {
    await operator?.stop('SIGTERM');
    await tracker.stop();
    await deletePart(bench, namespaces, PART).catch(() => undefined);
    await emulator.stop();
  }
}
