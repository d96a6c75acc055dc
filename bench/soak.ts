// npm run soak — the chaos run of npm run bench on its own: 500 restores (BENCH_RESTORES) while the emulator
// answers 5 % of calls with 503, drops 2 % of connections and loses the response of every 50th change it applies,
// at 30 ms and 50 calls/s; the operator is SIGKILLed twice and kube-apiserver restarted once. Passes (exit 0) only if every restore ends Completed, every original
// equals its target (system rules aside), and no mutating call ever left an original without a rule both groups
// held. Writes the result to bench/soak-results.json (BENCH_RESULTS overrides).

import { writeFileSync } from 'node:fs';
import { chaosOptions, FULL, intEnv } from './lib/config.ts';
import { ROOT, startBench } from './lib/cluster.ts';
import type { Bench } from './lib/cluster.ts';
import { machine } from './lib/report.ts';
import { runChaos } from './parts/load.ts';

process.env.ALIBABA_CLOUD_ECS_METADATA_DISABLED = 'true';
process.env.ALIBABA_CLOUD_CLI_PROFILE_DISABLED = 'true';

const log = (line: string) => process.stderr.write(`soak: ${line}\n`);

async function main(): Promise<number> {
  const restores = intEnv('BENCH_RESTORES', FULL.restores);
  const concurrency = intEnv('BENCH_CONCURRENCY', FULL.concurrency);
  let bench: Bench | undefined;
  const onSignal = () => {
    void bench?.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    bench = await startBench(log);
    const chaos = await runChaos(bench, chaosOptions(restores, concurrency), log);
    const out = process.env.BENCH_RESULTS ?? `${ROOT}bench/soak-results.json`;
    writeFileSync(out, `${JSON.stringify({ machine: machine(bench.cp.version), date: new Date().toISOString(), chaos }, null, 2)}\n`);
    process.stdout.write(
      [
        `soak ${chaos.passed ? 'PASSED' : 'FAILED'}: ${chaos.completed}/${chaos.restores} restores Completed, ${chaos.originalsMatching} originals equal their targets, ` +
          `${chaos.rulesLost} rules lost (${chaos.mutatingCallsChecked} mutating calls checked) in ${chaos.seconds} s`,
        `faults: ${chaos.calls.injected503} injected 503s, ${chaos.calls.dropped} dropped connections, ${chaos.calls.lostResponses} lost responses, ${chaos.calls.throttled} throttled; ${chaos.calls.replays} ClientToken replays`,
        ...chaos.timeline.map((e) => `  ${e}`),
        ...chaos.problems.map((p) => `problem: ${p}`),
        `wrote ${out}`,
      ].join('\n') + '\n',
    );
    return chaos.passed ? 0 : 1;
  } finally {
    await bench?.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`soak: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
