// The shape of bench/results.json (issue 5's fields first, more after them), the machine it came from, and the
// Markdown table `npm run bench` prints.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface CallsResult {
  readonly changes: number;
  readonly made: number;
  readonly minimum: number;
  readonly ratio: number;
  readonly perRule: number;
  readonly adds: number;
  readonly removes: number;
  readonly updates: number;
  readonly describeCalls: number;
  readonly mutatingCalls: number;
  readonly minimumDescribe: number;
  readonly minimumMutating: number;
}

export interface CallCounts {
  readonly made: number;
  readonly minimum: number;
  /** Answered Throttling.User by the emulator's flow control. */
  readonly throttled: number;
  readonly injected503: number;
  /** Connections dropped before the call was served. */
  readonly dropped: number;
  /** Mutating calls applied whose response was lost (the connection dropped after the change). */
  readonly lostResponses: number;
  /** Mutating calls the emulator answered from its ClientToken cache (a retry of a call already applied). */
  readonly replays: number;
  readonly mutating: number;
}

export interface ThroughputResult {
  readonly restores: number;
  readonly seconds: number;
  readonly boundSeconds: number;
  readonly fractionOfBound: number;
  readonly failed: number;
  readonly changesPerRestore: number;
  readonly completed: number;
  readonly originalsMatching: number;
  readonly rulesLost: number;
  readonly createSeconds: number;
  readonly halfReadySeconds: number;
  readonly calls: CallCounts & { readonly callsPerSecond: number; readonly servedPerSecond: number };
  readonly operator: { readonly concurrency: number; readonly ecsRateLimit: number; readonly namespaces: number; readonly reconciles: number; readonly reconcileErrors: number; readonly queueRetries: number };
  readonly emulator: { readonly latencyMs: number; readonly rateLimitPerSecond: number };
  readonly goal: number;
  readonly met: boolean;
  readonly timedOut?: string;
}

export interface LatencyResult {
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly samples: number;
  readonly minMs: number;
  readonly maxMs: number;
  /** Of the total: until `kubectl apply` exited (process start, discovery, the create). */
  readonly kubectlP50Ms: number;
  readonly operator: { readonly concurrency: number; readonly ecsRateLimit: number };
  readonly goalP50Ms: number;
  readonly met: boolean;
}

export interface MemoryResult {
  readonly restores: number;
  readonly rssMb: number;
  /** The same operator with its cache synced and empty, before the restores were created. */
  readonly baselineRssMb: number;
  /** VmHWM: the peak while it reconciled them all. */
  readonly peakRssMb: number;
  /** RSS the moment the queue had drained, before V8 shrank its heap. */
  readonly drainedRssMb: number;
  /** Idle time until rssMb was read (RSS had fallen and stayed put for 30 s, or the limit). */
  readonly settleSeconds: number;
  readonly perRestoreKb: number;
  readonly setupSeconds: number;
  readonly operatorBuild: 'compiled' | 'source';
  readonly goalMb: number;
  readonly met: boolean;
}

export interface ChaosResult {
  readonly completed: number;
  readonly restores: number;
  readonly rulesLost: number;
  readonly passed: boolean;
  readonly originalsMatching: number;
  readonly mutatingCallsChecked: number;
  readonly seconds: number;
  readonly faults: {
    readonly errorRate: number;
    readonly dropRate: number;
    readonly lostResponseEveryNthMutating: number;
    readonly latencyMs: number;
    readonly rateLimitPerSecond: number;
    readonly operatorKills: number;
    readonly apiserverRestarts: number;
  };
  readonly calls: CallCounts;
  readonly timeline: readonly string[];
  readonly problems: readonly string[];
}

export interface BenchResults {
  machine: string;
  calls?: CallsResult[];
  throughput?: ThroughputResult;
  latency?: LatencyResult;
  memory?: MemoryResult;
  chaos?: ChaosResult;
  date: string;
  commit?: string;
  kubernetes?: string;
  etcd?: string;
  /** Parts run at less than full size (env overrides), so their figures are not the issue's. */
  scaledDown?: string[];
  durationSeconds?: Record<string, number>;
}

export function machine(kubernetes?: string): string {
  const cpus = os.cpus();
  const model = cpus[0]?.model.trim() ?? 'unknown CPU';
  const gib = Math.round(os.totalmem() / 2 ** 30);
  let distro = os.type();
  try {
    distro = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? distro;
  } catch {
    // not Linux
  }
  return `${cpus.length} × ${model}, ${gib} GiB RAM, ${distro} (kernel ${os.release()}), Node ${process.version}${kubernetes ? `, Kubernetes ${kubernetes}` : ''}`;
}

export function gitCommit(root: string): string | undefined {
  try {
    const sha = execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['-C', root, 'status', '--porcelain', '--', 'src'], { encoding: 'utf8' }).trim() !== '';
    return dirty ? `${sha} (src/ modified)` : sha;
  } catch {
    return undefined;
  }
}

const yes = (met: boolean) => (met ? 'yes' : '**no**');

/** The Markdown table: one row per measured figure, with its goal and whether it is met. */
export function markdownTable(r: BenchResults): string {
  const rows: string[][] = [];
  for (const c of r.calls ?? []) {
    rows.push([
      `Calls, ${c.changes.toLocaleString('en-US')} changes (${c.adds} add, ${c.removes} remove, ${c.updates} update)`,
      `${c.made} made / ${c.minimum} minimum = **${c.ratio.toFixed(2)}**; per-rule model ${c.perRule.toLocaleString('en-US')}`,
      'ratio 1.00',
      yes(c.ratio <= 1),
    ]);
  }
  const t = r.throughput;
  if (t) {
    rows.push([
      `Throughput, ${t.restores} restores × ${t.changesPerRestore} changes (ECS ${t.emulator.latencyMs} ms, ${t.emulator.rateLimitPerSecond} calls/s)`,
      `${t.seconds} s to all Ready; bound ${t.boundSeconds} s; fractionOfBound **${t.fractionOfBound.toFixed(2)}**; ${t.failed} Failed; ${t.calls.made} calls (${t.calls.throttled} throttled) for ${t.calls.minimum} needed`,
      '≥ 0.80, 0 Failed',
      yes(t.met),
    ]);
  }
  const l = r.latency;
  if (l) {
    rows.push([`Latency, kubectl apply → Ready, ${l.samples} small restores`, `p50 **${l.p50Ms} ms**, p95 ${l.p95Ms} ms (kubectl itself p50 ${l.kubectlP50Ms} ms)`, 'p50 < 500 ms', yes(l.met)]);
  }
  const m = r.memory;
  if (m) {
    rows.push([`Memory, operator RSS, ${m.restores.toLocaleString('en-US')} restores cached, idle`, `**${m.rssMb} MiB** after ${m.settleSeconds} s idle (${m.drainedRssMb} MiB just drained; empty cache ${m.baselineRssMb} MiB; peak ${m.peakRssMb} MiB)`, '< 200 MB', yes(m.met)]);
  }
  const c = r.chaos;
  if (c) {
    rows.push([
      `Chaos, ${c.restores} restores, ${Math.round(c.faults.errorRate * 100)} % 503 + ${Math.round(c.faults.dropRate * 100)} % drops + every ${c.faults.lostResponseEveryNthMutating}th change's response lost, ${c.faults.operatorKills} SIGKILLs, ${c.faults.apiserverRestarts} apiserver restart`,
      `${c.completed}/${c.restores} Completed, ${c.originalsMatching} originals = targets, **${c.rulesLost} rules lost** (${c.mutatingCallsChecked} mutating calls checked), ${c.seconds} s`,
      'all Completed, 0 lost',
      yes(c.passed),
    ]);
  }
  const header = ['Benchmark', 'Result', 'Goal', 'Met'];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((row) => `| ${row.join(' | ')} |`)];
  return `${lines.join('\n')}\n\nMachine: ${r.machine}${r.commit ? `; commit ${r.commit}` : ''}; ${r.date}${r.scaledDown?.length ? `\nScaled down (not the issue's sizes): ${r.scaledDown.join(', ')}` : ''}`;
}
