// (2) Throughput and (5) chaos: N SecurityGroupRestores on distinct groups, created through the API while the
// operator runs, the emulator at 30 ms latency behind a flow-control limit (Throttling.User beyond it). Measures the
// time until every restore is Ready against the lower bound (minimum calls ÷ limit). The chaos variant adds 503s and
// dropped connections, SIGKILLs the operator twice and restarts kube-apiserver once, then checks that every restore
// ended Completed, every original equals its target, and no rule both groups held was ever missing from the original.

import { performance } from 'node:perf_hooks';
import { EcsEmulator } from '../../test/emulator/server.ts';
import type { OperatorProcess } from '../../test/integration/support/operator.ts';
import { createAll, createTenants, deletePart, metricSum, percentile, restoreObject, RestoreTracker, scrapeMetrics, startBenchOperator } from '../lib/cluster.ts';
import type { Bench } from '../lib/cluster.ts';
import { checkNoRuleLost, minimumCalls, REGION, sameContent, scenario } from '../lib/rules.ts';
import type { Scenario } from '../lib/rules.ts';
import type { CallCounts, ChaosResult, ThroughputResult } from '../lib/report.ts';

export interface LoadOptions {
  readonly part: string;
  readonly restores: number;
  readonly changes: number;
  readonly namespaces: number;
  readonly concurrency: number;
  readonly ecsRateLimit: number;
  readonly latencyMs: number;
  readonly rateLimitPerSecond: number;
  readonly chaos?: {
    readonly errorRate: number;
    readonly dropRate: number;
    readonly lostResponseEveryNthMutating: number;
    readonly operatorKillsAt: readonly number[];
    readonly apiserverRestartAt: readonly number[];
  };
  readonly timeoutMs?: number;
}

interface LoadOutcome {
  readonly scenarios: readonly Scenario[];
  readonly seconds: number;
  readonly createSeconds: number;
  readonly completed: number;
  readonly failed: number;
  readonly ready: number;
  readonly originalsMatching: number;
  readonly rulesLost: number;
  readonly checkedCalls: number;
  readonly lossExamples: readonly string[];
  readonly calls: CallCounts;
  readonly readyP50Seconds: number;
  readonly operator: { reconciles: number; reconcileErrors: number; queueRetries: number };
  readonly events: readonly string[];
  readonly timedOut?: string;
}

async function runLoad(bench: Bench, o: LoadOptions, log: (line: string) => void): Promise<LoadOutcome> {
  const scenarios = Array.from({ length: o.restores }, (_, i) => scenario(`${o.part}${String(i).padStart(5, '0')}`, o.changes));
  const emulator = await EcsEmulator.start();
  let operator: OperatorProcess | undefined;
  const tracker = new RestoreTracker(bench, o.part);
  const events: string[] = [];
  let namespaces: string[] = [];
  try {
    emulator.seed({ regions: { [REGION]: { securityGroups: scenarios.flatMap((s) => [s.original, s.target]) } } });
    const [credentials] = emulator.credentials;
    if (!credentials) throw new Error('the emulator has no credentials');
    namespaces = await createTenants(bench, `bench-${o.part}`, o.namespaces, credentials);
    await tracker.start();
    operator = await startBenchOperator(bench, emulator.url, { part: o.part, concurrency: o.concurrency, ecsRateLimit: o.ecsRateLimit });
    emulator.setFaults({
      latencyMs: o.latencyMs,
      rateLimitPerSecond: o.rateLimitPerSecond,
      ...(o.chaos && { errorRate: o.chaos.errorRate, dropRate: o.chaos.dropRate, applyThenDropEveryNthMutating: o.chaos.lostResponseEveryNthMutating, randomSeed: 7 }),
    });
    emulator.clearCalls();
    const objects = scenarios.map((s, i) =>
      restoreObject(namespaces[i % namespaces.length] ?? 'default', `r${String(i).padStart(5, '0')}`, o.part, {
        originalSecurityGroupId: s.original.id,
        targetSecurityGroupId: s.target.id,
        mode: 'Complete',
      }),
    );
    const t0 = performance.now();
    const at = () => ((performance.now() - t0) / 1000).toFixed(1);
    await createAll(bench, objects);
    const createSeconds = (performance.now() - t0) / 1000;
    log(`${o.part}: ${o.restores} restores created in ${createSeconds.toFixed(1)} s`);

    const settled = () => tracker.readyAt.size + (o.chaos ? 0 : tracker.failedAt.size) >= o.restores;
    const timeoutMs = o.timeoutMs ?? 15 * 60_000;
    if (o.chaos) {
      // The disruptions, each when this fraction of the restores is Ready.
      const plan = [
        ...o.chaos.operatorKillsAt.map((f) => ({ at: f, kind: 'kill' as const })),
        ...o.chaos.apiserverRestartAt.map((f) => ({ at: f, kind: 'apiserver' as const })),
      ].sort((a, b) => a.at - b.at);
      for (const step of plan) {
        await tracker.waitUntil(`${Math.round(step.at * 100)} % Ready`, () => tracker.readyAt.size >= step.at * o.restores, timeoutMs);
        if (step.kind === 'kill') {
          const code = await operator.stop('SIGKILL');
          events.push(`${at()} s: operator SIGKILLed (${String(code)}) with ${tracker.readyAt.size} Ready`);
          operator = await startBenchOperator(bench, emulator.url, { part: o.part, concurrency: o.concurrency, ecsRateLimit: o.ecsRateLimit });
          events.push(`${at()} s: new operator leading (after the dead one's lease expired)`);
        } else {
          events.push(`${at()} s: kube-apiserver restarting with ${tracker.readyAt.size} Ready`);
          await bench.cp.restartApiserver();
          events.push(`${at()} s: kube-apiserver ready again`);
        }
        log(`${o.part}: ${events.slice(-2).join('; ')}`);
      }
    }
    let lastReport = Date.now();
    let timedOut: string | undefined;
    try {
      await tracker.waitUntil(`all ${o.restores} restores Ready`, () => {
        if (Date.now() - lastReport > 15_000) {
          lastReport = Date.now();
          log(`${o.part}: ${at()} s: ${tracker.readyAt.size} Ready, ${tracker.failedAt.size} ever Failed, ${emulator.calls().length} ECS calls`);
        }
        return settled();
      }, timeoutMs);
    } catch (error) {
      timedOut = (error as Error).message;
      log(`${o.part}: ${timedOut}`);
    }
    const last = timedOut ? performance.now() : Math.max(...tracker.readyAt.values(), ...(o.chaos ? [] : tracker.failedAt.values()));
    const seconds = (last - t0) / 1000;
    const readyP50Seconds = (percentile([...tracker.readyAt.values()], 50) - t0) / 1000;

    const metrics = await scrapeMetrics(operator);
    const calls = emulator.calls();
    const minimum = scenarios.reduce((sum, s) => sum + minimumCalls(s).total, 0);
    const loss = checkNoRuleLost(calls, scenarios);
    let originalsMatching = 0;
    for (const s of scenarios) if (sameContent(emulator.rules(s.original.id), emulator.rules(s.target.id))) originalsMatching++;
    const finalObjects = [...tracker.latest.values()];
    return {
      scenarios,
      seconds,
      createSeconds,
      completed: finalObjects.filter((r) => r.status?.phase === 'Completed').length,
      failed: finalObjects.filter((r) => r.status?.phase === 'Failed').length,
      ready: tracker.readyAt.size,
      originalsMatching,
      rulesLost: loss.rulesLost,
      checkedCalls: loss.checkedCalls,
      lossExamples: loss.examples,
      calls: {
        made: calls.length,
        minimum,
        throttled: calls.filter((c) => c.fault === 'rateLimit').length,
        injected503: calls.filter((c) => c.fault === 'error').length,
        dropped: calls.filter((c) => c.fault === 'drop').length,
        lostResponses: calls.filter((c) => c.fault === 'applyThenDrop').length,
        replays: calls.filter((c) => c.replay).length,
        mutating: calls.filter((c) => c.mutating).length,
      },
      readyP50Seconds,
      operator: {
        // Of the last operator process only (a killed one takes its counters with it).
        reconciles: metricSum(metrics, 'controller_runtime_reconcile_total'),
        reconcileErrors: metricSum(metrics, 'controller_runtime_reconcile_errors_total'),
        queueRetries: metricSum(metrics, 'workqueue_retries_total'),
      },
      events,
      ...(timedOut !== undefined && { timedOut }),
    };
  } finally {
    await operator?.stop('SIGTERM');
    await tracker.stop();
    await deletePart(bench, namespaces, o.part).catch(() => undefined);
    await emulator.stop();
  }
}

export async function runThroughput(bench: Bench, o: Omit<LoadOptions, 'chaos'>, log: (line: string) => void): Promise<ThroughputResult> {
  const r = await runLoad(bench, o, log);
  const boundSeconds = r.calls.minimum / o.rateLimitPerSecond;
  const fractionOfBound = boundSeconds / r.seconds;
  const result: ThroughputResult = {
    restores: o.restores,
    changesPerRestore: o.changes,
    seconds: Number(r.seconds.toFixed(1)),
    boundSeconds: Number(boundSeconds.toFixed(1)),
    fractionOfBound: Number(fractionOfBound.toFixed(2)),
    failed: r.failed,
    completed: r.completed,
    originalsMatching: r.originalsMatching,
    rulesLost: r.rulesLost,
    createSeconds: Number(r.createSeconds.toFixed(1)),
    halfReadySeconds: Number(r.readyP50Seconds.toFixed(1)),
    calls: { ...r.calls, callsPerSecond: Number((r.calls.made / r.seconds).toFixed(1)), servedPerSecond: Number(((r.calls.made - r.calls.throttled) / r.seconds).toFixed(1)) },
    operator: { concurrency: o.concurrency, ecsRateLimit: o.ecsRateLimit, namespaces: o.namespaces, ...r.operator },
    emulator: { latencyMs: o.latencyMs, rateLimitPerSecond: o.rateLimitPerSecond },
    goal: 0.8,
    met: fractionOfBound >= 0.8 && r.failed === 0 && r.ready === o.restores,
    ...(r.timedOut !== undefined && { timedOut: r.timedOut }),
  };
  log(`throughput: ${result.restores} restores Ready in ${result.seconds} s; bound ${result.boundSeconds} s; fraction ${result.fractionOfBound}; ${r.calls.made} calls (${r.calls.throttled} throttled), minimum ${r.calls.minimum}`);
  return result;
}

export async function runChaos(bench: Bench, o: LoadOptions & { chaos: NonNullable<LoadOptions['chaos']> }, log: (line: string) => void): Promise<ChaosResult> {
  const r = await runLoad(bench, o, log);
  const problems: string[] = [];
  if (r.timedOut) problems.push(r.timedOut);
  if (r.completed !== o.restores) problems.push(`${o.restores - r.completed} restore(s) did not end Completed`);
  if (r.originalsMatching !== o.restores) problems.push(`${o.restores - r.originalsMatching} original(s) differ from their target`);
  if (r.rulesLost > 0) problems.push(`${r.rulesLost} time(s) a rule both groups held was absent from the original: ${r.lossExamples.join('; ')}`);
  if (r.events.filter((e) => e.includes('SIGKILL')).length !== o.chaos.operatorKillsAt.length) problems.push('not every planned operator kill happened');
  const result: ChaosResult = {
    restores: o.restores,
    completed: r.completed,
    originalsMatching: r.originalsMatching,
    rulesLost: r.rulesLost,
    mutatingCallsChecked: r.checkedCalls,
    seconds: Number(r.seconds.toFixed(1)),
    faults: {
      errorRate: o.chaos.errorRate,
      dropRate: o.chaos.dropRate,
      lostResponseEveryNthMutating: o.chaos.lostResponseEveryNthMutating,
      latencyMs: o.latencyMs,
      rateLimitPerSecond: o.rateLimitPerSecond,
      operatorKills: o.chaos.operatorKillsAt.length,
      apiserverRestarts: o.chaos.apiserverRestartAt.length,
    },
    calls: r.calls,
    timeline: r.events,
    problems,
    passed: problems.length === 0,
  };
  log(`chaos: ${result.passed ? 'PASSED' : 'FAILED'}: ${r.completed}/${o.restores} Completed, ${r.originalsMatching} originals equal their targets, ${r.rulesLost} rules lost in ${r.checkedCalls} mutating calls checked; ${r.calls.injected503} 503s, ${r.calls.dropped} drops, ${r.calls.lostResponses} lost responses (${r.calls.replays} ClientToken replays)`);
  return result;
}
