// (1) Calls: restores of 10, 100 and 1,000 rule changes through the engine the operator and the CLI share
// (describeAndPlan + applyPlan) with the real SDK over HTTP against the emulator; every call the emulator answered
// is counted and compared with the minimum and with one call per rule.

import { randomUUID } from 'node:crypto';
import { applyPlan } from '../../src/cloud/apply.ts';
import { createEcsGateway } from '../../src/cloud/gateway.ts';
import { describeAndPlan } from '../../src/cloud/restore.ts';
import { EcsEmulator } from '../../test/emulator/server.ts';
import { minimumCalls, REGION, sameContent, scenario } from '../lib/rules.ts';
import type { CallsResult } from '../lib/report.ts';

export async function runCalls(sizes: readonly number[], log: (line: string) => void): Promise<CallsResult[]> {
  const emulator = await EcsEmulator.start();
  try {
    const [credentials] = emulator.credentials;
    if (!credentials) throw new Error('the emulator has no credentials');
    const gateway = createEcsGateway({ regionId: REGION, endpoint: emulator.url, credentials });
    const out: CallsResult[] = [];
    for (const changes of sizes) {
      // A quarter as many unchanged rules per direction as changes: the 1,000-change groups hold 1,100 rules, two pages each.
      const s = scenario(`calls${changes}`, changes, Math.ceil(changes / 4));
      emulator.seed({ regions: { [REGION]: { securityGroups: [s.original, s.target] } } });
      emulator.clearCalls();
      const request = { regionId: REGION, originalGroupId: s.original.id, targetGroupId: s.target.id, mode: 'complete' as const };
      const planned = await describeAndPlan(gateway, request);
      if (planned.kind !== 'planned') throw new Error(`calls ${changes}: the restore was blocked: ${planned.failure.message}`);
      const c = planned.plan.counts;
      if (c.toAdd + c.toRemove + c.toUpdate !== changes) throw new Error(`calls ${changes}: planned ${JSON.stringify(c)}, not ${changes} changes`);
      const result = await applyPlan(gateway, planned.plan, { applyId: randomUUID() });
      if (!result.complete) throw new Error(`calls ${changes}: the apply did not complete: ${result.aborted?.message ?? `${result.failures.length} rule(s) refused`}`);
      if (!sameContent(emulator.rules(s.original.id), emulator.rules(s.target.id))) throw new Error(`calls ${changes}: the original does not equal the target after the restore`);
      const calls = emulator.calls();
      const describe = calls.filter((call) => !call.mutating).length;
      const mutating = calls.length - describe;
      const min = minimumCalls(s);
      const row: CallsResult = {
        changes,
        adds: c.toAdd,
        removes: c.toRemove,
        updates: c.toUpdate,
        made: calls.length,
        minimum: min.total,
        ratio: Number((calls.length / min.total).toFixed(2)),
        perRule: min.perRule,
        describeCalls: describe,
        mutatingCalls: mutating,
        minimumDescribe: min.describe,
        minimumMutating: min.mutating,
      };
      log(`calls: ${changes} changes (${c.toAdd} add, ${c.toRemove} remove, ${c.toUpdate} update): ${row.made} calls, minimum ${row.minimum}, per-rule ${row.perRule}`);
      out.push(row);
    }
    return out;
  } finally {
    await emulator.stop();
  }
}
