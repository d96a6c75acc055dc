import { expect } from 'chai';
import sinon from 'sinon';
import { applyPlan } from '../../../src/cloud/apply.ts';
import { CloudError } from '../../../src/cloud/errors.ts';
import { planRestore } from '../../../src/plan/plan.ts';
import type { GroupSnapshot, RestoreMode } from '../../../src/plan/types.ts';
import type { Rule } from '../../../src/rules/rule.ts';
import { MemoryEcs } from '../support/memory-ecs.ts';

const tcp = (port: number, extra: Partial<Rule> = {}): Rule => ({
  direction: 'ingress', protocol: 'TCP', portRange: `${port}/${port}`, peer: { kind: 'ipv4', cidr: '10.0.0.0/8' }, policy: 'accept', priority: 1, nicType: 'intranet', ...extra,
});
const snap = (groupId: string, rules: Rule[]): GroupSnapshot => ({ regionId: 'cn-hangzhou', groupId, groupType: 'normal', networkType: 'vpc', vpcId: 'vpc-1', rules, unreadableRules: [] });
const plan = (original: Rule[], target: Rule[], mode: RestoreMode = 'complete') =>
  planRestore({ regionId: 'cn-hangzhou', originalGroupId: 'sg-o', targetGroupId: 'sg-t', mode }, snap('sg-o', original), snap('sg-t', target));
const noSleep = { sleep: async () => undefined };

describe('applyPlan', () => {
  it('authorizes 250 rules in 3 calls per direction, at most 100 per call', async () => {
    const target = Array.from({ length: 250 }, (_, i) => tcp(1000 + i)).flatMap((r) => [r, { ...r, direction: 'egress' as const }]);
    const ecs = new MemoryEcs({ identityIncludesPriority: false });
    ecs.seed('sg-o', []);
    const authorize = sinon.spy(ecs, 'authorize');
    const result = await applyPlan(ecs, plan([], target), { applyId: 'a' });
    expect(result).to.include({ added: 500, complete: true, mutatingCalls: 6 });
    expect(authorize.getCalls().map((c) => [c.args[0].direction, c.args[0].permissions.length])).to.deep.equal([
      ['ingress', 100], ['ingress', 100], ['ingress', 50], ['egress', 100], ['egress', 100], ['egress', 50],
    ]);
  });

  it('isolates a rule ECS refuses by splitting its batch, applies the rest, and then removes nothing', async () => {
    const target = Array.from({ length: 40 }, (_, i) => tcp(2000 + i));
    const ecs = new MemoryEcs({ identityIncludesPriority: false, refuse: (r) => r.portRange === '2017/2017' });
    ecs.seed('sg-o', [tcp(22)]);
    const result = await applyPlan(ecs, plan([{ ...tcp(22), ruleId: 'sgr-1' }], target), { applyId: 'a' });
    expect(result.added).to.equal(39);
    expect(result.failures.map((f) => f.rule.portRange)).to.deep.equal(['2017/2017']);
    expect(result.removalsSkipped).to.equal(true);
    expect(result.removed).to.equal(0);
    expect(ecs.rules('sg-o').map((r) => r.portRange)).to.include('22/22');
    expect(result.complete).to.equal(false);
  });

  it('retries throttling with the same ClientToken and succeeds', async () => {
    const ecs = new MemoryEcs({ identityIncludesPriority: false });
    ecs.seed('sg-o', []);
    const real = ecs.authorize.bind(ecs);
    const tokens: string[] = [];
    let calls = 0;
    sinon.stub(ecs, 'authorize').callsFake(async (args) => {
      tokens.push(args.clientToken);
      if (++calls <= 2) throw new CloudError({ action: 'AuthorizeSecurityGroup', code: 'Throttling.User', kind: 'transient', statusCode: 400, message: 'flow control' });
      return real(args);
    });
    const result = await applyPlan(ecs, plan([], [tcp(80)]), { applyId: 'a', retryHooks: noSleep });
    expect(result).to.include({ added: 1, complete: true, mutatingCalls: 3 });
    expect(new Set(tokens).size).to.equal(1);
    expect(tokens[0]).to.match(/^[0-9a-f]{48}$/);
  });

  it('derives different ClientTokens for different applies of the same plan', async () => {
    const p = plan([], [tcp(80)]);
    const seen: string[] = [];
    for (const applyId of ['first', 'second']) {
      const ecs = new MemoryEcs({ identityIncludesPriority: false });
      ecs.seed('sg-o', []);
      const spy = sinon.spy(ecs, 'authorize');
      await applyPlan(ecs, p, { applyId });
      seen.push(spy.firstCall.args[0].clientToken);
    }
    expect(seen[0]).to.not.equal(seen[1]);
  });

  it('stops at a fatal error, before any removal', async () => {
    const ecs = new MemoryEcs({ identityIncludesPriority: false });
    ecs.seed('sg-o', [tcp(22)]);
    sinon.stub(ecs, 'authorize').rejects(new CloudError({ action: 'AuthorizeSecurityGroup', code: 'Forbidden.RAM', kind: 'fatal', statusCode: 403, requestId: 'R1', message: 'no permission' }));
    const revoke = sinon.spy(ecs, 'revokeByIds');
    const result = await applyPlan(ecs, plan([{ ...tcp(22), ruleId: 'sgr-1' }], [tcp(80)]), { applyId: 'a' });
    expect(result.aborted?.code).to.equal('Forbidden.RAM');
    expect(result.aborted?.requestId).to.equal('R1');
    expect(result.removalsSkipped).to.equal(true);
    expect(revoke.called).to.equal(false);
  });

  it('gives up on a transient failure after the bounded number of attempts', async () => {
    const ecs = new MemoryEcs({ identityIncludesPriority: false });
    ecs.seed('sg-o', []);
    const stub = sinon.stub(ecs, 'authorize').rejects(new CloudError({ action: 'AuthorizeSecurityGroup', code: 'ServiceUnavailable', kind: 'transient', statusCode: 503, message: 'busy' }));
    const result = await applyPlan(ecs, plan([], [tcp(80)]), { applyId: 'a', retryPolicy: { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 2 }, retryHooks: noSleep });
    expect(stub.callCount).to.equal(4);
    expect(result.aborted?.code).to.equal('ServiceUnavailable');
  });

  it('counts a removal whose rule is already gone as done, not as a failure', async () => {
    const ecs = new MemoryEcs({ identityIncludesPriority: false });
    ecs.seed('sg-o', [{ ...tcp(22), ruleId: 'sgr-1' }, { ...tcp(23), ruleId: 'sgr-2' }]);
    const p = plan([{ ...tcp(22), ruleId: 'sgr-1' }, { ...tcp(23), ruleId: 'sgr-2' }, { ...tcp(24), ruleId: 'sgr-gone' }], []);
    const result = await applyPlan(ecs, p, { applyId: 'a' });
    expect(result).to.include({ removed: 2, alreadyAbsent: 1, complete: true });
    expect(ecs.rules('sg-o')).to.have.length(0);
  });

  it('modifies a rule in place when only priority and description differ', async () => {
    const ecs = new MemoryEcs({ identityIncludesPriority: false });
    ecs.seed('sg-o', [{ ...tcp(22, { priority: 5, description: 'old' }), ruleId: 'sgr-1' }]);
    const result = await applyPlan(ecs, plan(ecs.rules('sg-o'), [tcp(22, { priority: 1, description: 'new' })]), { applyId: 'a' });
    expect(result).to.include({ added: 0, removed: 0, updated: 1, complete: true });
    expect(ecs.rules('sg-o')).to.deep.equal([{ ...tcp(22, { priority: 1, description: 'new' }), ruleId: 'sgr-1' }]);
  });
});
