// npm run bench — the benchmarks of issue 5 on a real local control plane (etcd + kube-apiserver, the CRD,
// deploy/'s RBAC), the operator as its own process, and the ECS emulator behind the real SDK:
//   1. calls       ECS calls of 10 / 100 / 1,000-change restores vs the minimum and vs one call per rule
//   2. throughput  500 restores × 20 changes, ECS at 30 ms and 50 calls/s: time to all Ready vs the lower bound
//   3. latency     kubectl apply → Ready of one small restore: p50 / p95 of 20
//   4. memory      operator RSS with 5,000 restores cached, idle
//   5. chaos       (2) with 5 % 503s, 2 % drops, two operator SIGKILLs, one kube-apiserver restart (also npm run soak)
// Prints a Markdown table and writes bench/results.json; docs/performance.md explains every figure.
//
// Environment (for a quicker look; results.json then lists the part under scaledDown):
//   BENCH_PARTS=calls,latency,throughput,memory,chaos   which parts (default all)
//   BENCH_RESTORES=500          restores in throughput and chaos
//   BENCH_MEMORY_RESTORES=5000  restores cached for memory
//   BENCH_LATENCY_SAMPLES=20
//   BENCH_MEMORY_SETTLE_SECONDS=240  how long memory follows RSS once the operator is idle, at most
//   BENCH_CONCURRENCY=16        the operator's --concurrency in throughput, chaos and memory
//   BENCH_OPERATOR=source       run the operator from src/ (type stripping) instead of compiled as in the image
//   BENCH_NODE_ARGS="..."       Node flags for the operator, e.g. "--max-old-space-size=128 --max-semi-space-size=1"
//   BENCH_RESULTS=path          where to write the JSON (default bench/results.json)

import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { startBench, ROOT } from './lib/cluster.ts';
import type { Bench } from './lib/cluster.ts';
import { gitCommit, machine, markdownTable } from './lib/report.ts';
import type { BenchResults } from './lib/report.ts';
import { runCalls } from './parts/calls.ts';
import { runLatency } from './parts/latency.ts';
import { runChaos, runThroughput } from './parts/load.ts';
import { runMemory } from './parts/memory.ts';
import { chaosOptions, FULL, intEnv } from './lib/config.ts';

// The credential chain must never reach for a metadata service or a developer's own profiles.
process.env.ALIBABA_CLOUD_ECS_METADATA_DISABLED = 'true';
process.env.ALIBABA_CLOUD_CLI_PROFILE_DISABLED = 'true';

const ALL_PARTS = ['calls', 'latency', 'throughput', 'memory', 'chaos'] as const;
type Part = (typeof ALL_PARTS)[number];

const log = (line: string) => process.stderr.write(`bench: ${line}\n`);

async function main(): Promise<number> {
  const parts = new Set<Part>(
    (process.env.BENCH_PARTS ?? ALL_PARTS.join(','))
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean)
      .map((p) => {
        if (!(ALL_PARTS as readonly string[]).includes(p)) throw new Error(`BENCH_PARTS: unknown part "${p}" (parts: ${ALL_PARTS.join(', ')})`);
        return p as Part;
      }),
  );
  const restores = intEnv('BENCH_RESTORES', FULL.restores);
  const memoryRestores = intEnv('BENCH_MEMORY_RESTORES', FULL.memoryRestores);
  const latencySamples = intEnv('BENCH_LATENCY_SAMPLES', FULL.latencySamples);
  const concurrency = intEnv('BENCH_CONCURRENCY', FULL.concurrency);
  const scaledDown: string[] = [];
  if (restores < FULL.restores && (parts.has('throughput') || parts.has('chaos'))) scaledDown.push(`throughput/chaos at ${restores} restores`);
  if (memoryRestores < FULL.memoryRestores && parts.has('memory')) scaledDown.push(`memory at ${memoryRestores} restores`);
  if (latencySamples < FULL.latencySamples && parts.has('latency')) scaledDown.push(`latency over ${latencySamples} samples`);

  const started = performance.now();
  const durationSeconds: Record<string, number> = {};
  const timed = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await run();
    } finally {
      durationSeconds[name] = Number(((performance.now() - t0) / 1000).toFixed(1));
    }
  };

  const results: BenchResults = { machine: machine(), date: new Date().toISOString() };
  const commit = gitCommit(ROOT);
  if (commit) results.commit = commit;
  if (scaledDown.length > 0) results.scaledDown = scaledDown;
  results.durationSeconds = durationSeconds;

  if (parts.has('calls')) results.calls = await timed('calls', () => runCalls([10, 100, 1000], log));

  const clusterParts = [...parts].filter((p) => p !== 'calls');
  if (clusterParts.length > 0) {
    let bench: Bench | undefined;
    const onSignal = () => {
      void bench?.stop().finally(() => process.exit(130));
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      bench = await timed('controlPlaneStart', () => startBench(log));
      const b = bench;
      results.machine = machine(b.cp.version);
      results.kubernetes = b.cp.version;
      results.etcd = b.cp.state.etcdVersion;
      if (parts.has('latency')) results.latency = await timed('latency', () => runLatency(b, latencySamples, log));
      if (parts.has('throughput')) {
        results.throughput = await timed('throughput', () =>
          runThroughput(b, { part: 'throughput', restores, changes: FULL.changes, namespaces: 5, concurrency, ecsRateLimit: 50, latencyMs: 30, rateLimitPerSecond: 50 }, log),
        );
      }
      if (parts.has('memory')) results.memory = await timed('memory', () => runMemory(b, { restores: memoryRestores, namespaces: 10, concurrency, settleMs: intEnv('BENCH_MEMORY_SETTLE_SECONDS', 240) * 1000 }, log));
      if (parts.has('chaos')) results.chaos = await timed('chaos', () => runChaos(b, chaosOptions(restores, concurrency), log));
    } finally {
      await bench?.stop();
    }
  }
  durationSeconds.total = Number(((performance.now() - started) / 1000).toFixed(1));

  const out = process.env.BENCH_RESULTS ?? `${ROOT}bench/results.json`;
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`${markdownTable(results)}\n\nWrote ${out} (${durationSeconds.total} s in all).\n`);
  return results.chaos && !results.chaos.passed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
