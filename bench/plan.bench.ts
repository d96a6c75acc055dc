// npm run bench:plan — time to plan a restore between two groups of 5,000 rules each (goal: under 50 ms).
// A benchmark, not a test: it prints figures and asserts nothing.

import { performance } from 'node:perf_hooks';
import os from 'node:os';
import { planRestore } from '../src/plan/plan.ts';
import type { GroupSnapshot } from '../src/plan/types.ts';
import type { Rule } from '../src/rules/rule.ts';

const RULES = Number(process.env.BENCH_RULES ?? 5000);
const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 30);

function makeRules(prefix: string, count: number, shift: number): Rule[] {
  const rules: Rule[] = [];
  for (let i = 0; i < count; i++) {
    const n = i + shift;
    const peerKind = n % 4;
    rules.push({
      ruleId: `sgr-${prefix}${i}`,
      direction: n % 2 === 0 ? 'ingress' : 'egress',
      protocol: n % 3 === 0 ? 'UDP' : 'TCP',
      portRange: `${(n % 60000) + 1}/${(n % 60000) + 1}`,
      peer:
        peerKind === 0 ? { kind: 'ipv4', cidr: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}/32` }
          : peerKind === 1 ? { kind: 'ipv6', cidr: `2001:db8::${n.toString(16)}/128` }
            : peerKind === 2 ? { kind: 'group', groupId: `sg-peer${n % 50}`, ownerAccount: '1234567890' }
              : { kind: 'prefixList', prefixListId: `pl-${n % 20}` },
      policy: n % 7 === 0 ? 'drop' : 'accept',
      priority: (n % 100) + 1,
      nicType: 'intranet',
      ...(n % 5 === 0 && { description: `rule ${n}` }),
    });
  }
  return rules;
}

function group(groupId: string, rules: Rule[]): GroupSnapshot {
  return { regionId: 'cn-hangzhou', groupId, groupType: 'normal', networkType: 'vpc', vpcId: 'vpc-1', rules, unreadableRules: [] };
}

// 80 % shared, 20 % differing each way; some shared ones with another priority (updates).
const original = makeRules('o', RULES, 0);
const target = makeRules('t', RULES, Math.floor(RULES * 0.2)).map((r, i) => (i % 50 === 0 ? { ...r, priority: (r.priority % 100) + 1 } : r));
const request = { regionId: 'cn-hangzhou', originalGroupId: 'sg-original', targetGroupId: 'sg-target', mode: 'complete' as const };

const times: number[] = [];
let counts;
for (let i = 0; i < ITERATIONS + 3; i++) {
  const start = performance.now();
  const plan = planRestore(request, group('sg-original', original), group('sg-target', target));
  const elapsed = performance.now() - start;
  if (i >= 3) times.push(elapsed); // the first runs warm the JIT
  counts = plan.counts;
}
times.sort((a, b) => a - b);
const pct = (p: number) => times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))] ?? NaN;
const result = {
  benchmark: 'plan',
  rules: `2 x ${RULES}`,
  iterations: ITERATIONS,
  medianMs: Number(pct(50).toFixed(2)),
  p95Ms: Number(pct(95).toFixed(2)),
  goalMs: 50,
  counts,
  machine: `${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
};
console.log(`plan 2 x ${RULES} rules: median ${result.medianMs} ms, p95 ${result.p95Ms} ms (goal < 50 ms) on ${result.machine}`);
console.log(JSON.stringify(result));
