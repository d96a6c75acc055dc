import { expect } from 'chai';
import { planRestore } from '../../../src/plan/plan.ts';
import { checkGroups, validateRequest } from '../../../src/plan/preconditions.ts';
import type { GroupSnapshot, RestoreMode } from '../../../src/plan/types.ts';
import type { Rule } from '../../../src/rules/rule.ts';

const rule = (extra: Partial<Rule> = {}): Rule => ({
  direction: 'ingress', protocol: 'TCP', portRange: '22/22', peer: { kind: 'ipv4', cidr: '10.0.0.0/8' }, policy: 'accept', priority: 1, nicType: 'intranet', ...extra,
});
const snap = (groupId: string, rules: Rule[], extra: Partial<GroupSnapshot> = {}): GroupSnapshot => ({
  regionId: 'cn-hangzhou', groupId, groupType: 'normal', networkType: 'vpc', vpcId: 'vpc-1', rules, unreadableRules: [], ...extra,
});
const req = (mode: RestoreMode) => ({ regionId: 'cn-hangzhou', originalGroupId: 'sg-o', targetGroupId: 'sg-t', mode });

describe('planRestore', () => {
  it('skips and counts the target\'s priority-110 system rules and never removes the original\'s', () => {
    const system = rule({ protocol: 'ALL', portRange: '-1/-1', peer: { kind: 'ipv4', cidr: '0.0.0.0/0' }, priority: 110 });
    const plan = planRestore(req('complete'), snap('sg-o', [{ ...system, ruleId: 'sgr-sys' }]), snap('sg-t', [system, rule()]));
    expect(plan.counts).to.deep.equal({ toAdd: 1, toRemove: 0, toUpdate: 0, unchanged: 0, skippedSystemRules: 1 });
    expect(plan.toRemove).to.deep.equal([]);
  });

  it('restores a rule referencing the target group itself as a reference to the original group', () => {
    const self = rule({ peer: { kind: 'group', groupId: 'sg-t', ownerAccount: '1' } });
    const plan = planRestore(req('partial'), snap('sg-o', []), snap('sg-t', [self]));
    expect(plan.toAdd.map((r) => r.peer)).to.deep.equal([{ kind: 'group', groupId: 'sg-o', ownerAccount: '1' }]);
    const same = planRestore(req('complete'), snap('sg-o', [{ ...self, peer: { kind: 'group', groupId: 'sg-o', ownerAccount: '1' }, ruleId: 'sgr-1' }]), snap('sg-t', [self]));
    expect(same.counts).to.include({ toAdd: 0, toRemove: 0, unchanged: 1 });
  });

  it('updates in place, never adds and removes, when only priority or description differ', () => {
    const plan = planRestore(req('complete'), snap('sg-o', [rule({ ruleId: 'sgr-1', priority: 7, description: 'old' })]), snap('sg-t', [rule({ description: 'new' })]));
    expect(plan.counts).to.include({ toAdd: 0, toRemove: 0, toUpdate: 1 });
    expect(plan.toUpdate[0]?.changed).to.deep.equal(['priority', 'description']);
    expect(plan.toUpdate[0]?.to).to.include({ ruleId: 'sgr-1', priority: 1, description: 'new' });
  });

  it('keeps the original\'s description when the target has none (ECS cannot clear one in place)', () => {
    const plan = planRestore(req('complete'), snap('sg-o', [rule({ ruleId: 'sgr-1', description: 'kept' })]), snap('sg-t', [rule()]));
    expect(plan.counts).to.include({ toUpdate: 0, unchanged: 1 });
  });

  it('reports a difference ECS cannot make in place instead of risking the rule', () => {
    const plan = planRestore(req('complete'), snap('sg-o', [rule({ ruleId: 'sgr-1', sourcePortRange: '1024/65535' })]), snap('sg-t', [rule()]));
    expect(plan.counts).to.include({ toAdd: 0, toRemove: 0, toUpdate: 0 });
    expect(plan.problems.map((p) => p.reason)).to.deep.equal(['NotModifiableInPlace']);
  });

  it('in Partial mode leaves a rule the original has with other attributes alone', () => {
    const plan = planRestore(req('partial'), snap('sg-o', [rule({ ruleId: 'sgr-1', priority: 9 }), rule({ ruleId: 'sgr-2', portRange: '80/80' })]), snap('sg-t', [rule()]));
    expect(plan.counts).to.deep.equal({ toAdd: 0, toRemove: 0, toUpdate: 0, unchanged: 2, skippedSystemRules: 0 });
  });

  it('reports drop rules and group references an enterprise original cannot hold, and plans the rest', () => {
    const plan = planRestore(
      req('partial'),
      snap('sg-o', [], { groupType: 'enterprise' }),
      snap('sg-t', [rule({ policy: 'drop' }), rule({ peer: { kind: 'group', groupId: 'sg-x' } }), rule({ portRange: '443/443' })]),
    );
    expect(plan.problems.map((p) => p.reason).sort()).to.deep.equal(['EnterpriseGroupRejectsDrop', 'EnterpriseGroupRejectsGroupReference']);
    expect(plan.toAdd.map((r) => r.portRange)).to.deep.equal(['443/443']);
  });
});

describe('preconditions', () => {
  it('names the field of each invalid input', () => {
    const failures = validateRequest({ regionId: 'Hangzhou', originalGroupId: 'sg-a', targetGroupId: 'web', mode: 'full' });
    expect(failures.map((f) => [f.reason, f.field])).to.deep.equal([
      ['InvalidRegionId', 'regionId'], ['InvalidSecurityGroupId', 'targetSecurityGroupId'], ['InvalidMode', 'mode'],
    ]);
  });

  it('refuses to restore a group onto itself', () => {
    expect(validateRequest({ regionId: 'cn-hangzhou', originalGroupId: 'sg-a', targetGroupId: 'sg-a' }).map((f) => f.reason)).to.deep.equal(['SameGroup']);
  });

  it('says which group is missing in which region', () => {
    const failure = checkGroups(req('partial'), snap('sg-o', []), undefined);
    expect(failure?.message).to.equal('target security group sg-t not found in region cn-hangzhou; the original and target groups must be in the same region');
  });

  it('refuses groups of different network types', () => {
    const failure = checkGroups(req('partial'), snap('sg-o', []), snap('sg-t', [], { networkType: 'classic', vpcId: undefined }));
    expect(failure?.reason).to.equal('NetworkTypeMismatch');
    expect(failure?.message).to.match(/sg-o is in a VPC \(vpc-1\) but target group sg-t is in a classic network/);
  });
});
