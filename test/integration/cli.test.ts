// The CLI end to end: `sgrestore plan | apply` through the real ECS SDK, over HTTP, against the signature-checking
// emulator. Every assertion about the cloud is read from the emulator's own state and per-call log.

import { expect } from 'chai';
import { EcsEmulator } from '../emulator/server.ts';
import { userRuleContent } from '../emulator/compare.ts';
import type { CallRecord, SeedGroup, SeedRule } from '../emulator/server.ts';
import { runCli } from './support/cli.ts';

const REGION = 'cn-hangzhou';
const ORIGINAL = 'sg-original';
const TARGET = 'sg-target';

const tcpIn = (port: number, extra: Record<string, string | number> = {}): SeedRule => ({
  direction: 'ingress', ipProtocol: 'TCP', portRange: `${port}/${port}`, sourceCidrIp: '10.0.0.0/8', policy: 'accept', priority: 1, ...extra,
});
const tcpOut = (port: number, extra: Record<string, string | number> = {}): SeedRule => ({
  direction: 'egress', ipProtocol: 'TCP', portRange: `${port}/${port}`, destCidrIp: '10.0.0.0/8', policy: 'accept', priority: 1, ...extra,
});
const group = (id: string, rules: SeedRule[], extra: Partial<SeedGroup> = {}): SeedGroup => ({ id, vpcId: 'vpc-1', type: 'normal', rules, ...extra });

function seed(emulator: EcsEmulator, groups: SeedGroup[], otherRegion: SeedGroup[] = []): void {
  emulator.seed({ regions: { [REGION]: { securityGroups: groups }, 'cn-beijing': { securityGroups: otherRegion } } });
}

const args = (mode = 'complete', extra: string[] = []) => ['--region', REGION, '--original', ORIGINAL, '--target', TARGET, '--mode', mode, ...extra];

const content = userRuleContent;

const mutating = (calls: readonly CallRecord[]) => calls.filter((c) => c.mutating);

describe('sgrestore CLI against the ECS emulator', function () {
  this.timeout(120_000);
  let emulator: EcsEmulator;

  beforeEach(async () => {
    emulator = await EcsEmulator.start();
  });
  afterEach(async () => {
    await emulator.stop();
  });

  it('reads every page of both groups with a page cap of 7 and restores 65 rules per direction', async () => {
    emulator.setPageCap(7);
    const target = [...Array.from({ length: 65 }, (_, i) => tcpIn(1000 + i)), ...Array.from({ length: 65 }, (_, i) => tcpOut(2000 + i))];
    const original = [...Array.from({ length: 62 }, (_, i) => tcpIn(3000 + i)), ...Array.from({ length: 61 }, (_, i) => tcpOut(4000 + i))];
    seed(emulator, [group(ORIGINAL, original), group(TARGET, target)]);

    const plan = await runCli(emulator, ['plan', ...args(), '--output', 'json']);
    expect(plan.code, plan.stderr).to.equal(0);
    expect(plan.json<{ counts: object }>().counts).to.deep.equal({ toAdd: 130, toRemove: 123, toUpdate: 0, unchanged: 0, skippedSystemRules: 0 });
    const pages = emulator.calls().filter((c) => c.action === 'DescribeSecurityGroupAttribute');
    expect(pages.length).to.equal(Math.ceil(123 / 7) + Math.ceil(130 / 7));

    const applied = await runCli(emulator, ['apply', ...args(), '--yes', '--output', 'json']);
    expect(applied.code, applied.stderr).to.equal(0);
    expect(content(emulator.rules(ORIGINAL))).to.deep.equal(content(emulator.rules(TARGET)));
  });

  it('adds 250 rules per direction in at most 3 authorize calls per direction', async () => {
    const target = [...Array.from({ length: 250 }, (_, i) => tcpIn(1000 + i)), ...Array.from({ length: 250 }, (_, i) => tcpOut(1000 + i))];
    seed(emulator, [group(ORIGINAL, []), group(TARGET, target)]);
    emulator.clearCalls();
    const applied = await runCli(emulator, ['apply', ...args('partial'), '--yes', '--output', 'json']);
    expect(applied.code, applied.stderr).to.equal(0);
    expect(applied.json<{ applied: object }>().applied).to.deep.equal({ added: 500, removed: 0, updated: 0, skippedSystemRules: 0 });
    const calls = emulator.calls().filter((c) => c.applied);
    expect(calls.filter((c) => c.action === 'AuthorizeSecurityGroup')).to.have.length.at.most(3);
    expect(calls.filter((c) => c.action === 'AuthorizeSecurityGroupEgress')).to.have.length.at.most(3);
    expect(emulator.rules(ORIGINAL)).to.have.length(500);
  });

  for (const identityIncludesPriority of [false, true]) {
    for (const difference of ['description', 'priority'] as const) {
      it(`fixes a ${difference}-only difference in place, the rule present after every call (identity ${identityIncludesPriority ? 'with' : 'without'} priority)`, async () => {
        emulator.setIdentityIncludesPriority(identityIncludesPriority);
        const wanted: { priority: number; description: string } = difference === 'description' ? { priority: 1, description: 'ssh from office' } : { priority: 1, description: 'ssh' };
        const existing: { priority: number; description: string } = difference === 'description' ? { priority: 1, description: 'ssh' } : { priority: 20, description: 'ssh' };
        seed(emulator, [
          group(ORIGINAL, [tcpIn(22, { ...existing, securityGroupRuleId: 'sgr-keep' }), tcpIn(80, { securityGroupRuleId: 'sgr-http' })]),
          group(TARGET, [tcpIn(22, wanted), tcpIn(80)]),
        ]);
        emulator.clearCalls();
        const applied = await runCli(emulator, ['apply', ...args(), '--yes', '--output', 'json']);
        expect(applied.code, applied.stderr).to.equal(0);
        expect(applied.json<{ applied: object }>().applied).to.deep.include({ added: 0, removed: 0, updated: 1 });
        const ssh = emulator.rules(ORIGINAL).filter((r) => r.PortRange === '22/22');
        expect(ssh).to.have.length(1);
        expect(ssh[0]).to.include({ SecurityGroupRuleId: 'sgr-keep', Priority: 1, Description: wanted.description });
        const changes = mutating(emulator.calls());
        expect(changes.map((c) => c.action)).to.deep.equal(['ModifySecurityGroupRule']);
        for (const call of changes) {
          const after = call.rulesAfter?.[ORIGINAL] ?? [];
          expect(after.some((r) => r.SecurityGroupRuleId === 'sgr-keep'), `sgr-keep missing after ${call.action}`).to.equal(true);
        }
      });
    }
  }

  it('skips and counts the target\'s priority-110 system rules', async () => {
    const system = { direction: 'ingress', ipProtocol: 'ICMP', portRange: '-1/-1', sourceCidrIp: '0.0.0.0/0', policy: 'accept', priority: 110 };
    seed(emulator, [group(ORIGINAL, []), group(TARGET, [system, { ...system, direction: 'egress', sourceCidrIp: '', destCidrIp: '0.0.0.0/0' }, tcpIn(443)])]);
    const plan = await runCli(emulator, ['plan', ...args()]);
    expect(plan.stdout).to.match(/2 system rule\(s\) with priority 110 are not created/);
    const applied = await runCli(emulator, ['apply', ...args(), '--yes', '--output', 'json']);
    expect(applied.json<{ applied: object }>().applied).to.deep.equal({ added: 1, removed: 0, updated: 0, skippedSystemRules: 2 });
    expect(emulator.rules(ORIGINAL).map((r) => r.Priority)).to.deep.equal([1]);
  });

  it('restores a rule referencing the target group itself as a reference to the original group', async () => {
    seed(emulator, [group(ORIGINAL, []), group(TARGET, [{ direction: 'ingress', ipProtocol: 'TCP', portRange: '8080/8080', sourceGroupId: TARGET, policy: 'accept', priority: 1 }])]);
    const applied = await runCli(emulator, ['apply', ...args(), '--yes']);
    expect(applied.code, applied.stderr).to.equal(0);
    const [rule] = emulator.rules(ORIGINAL);
    expect(rule).to.include({ SourceGroupId: ORIGINAL, SourceGroupOwnerAccount: '1234567890' });
  });

  it('restores IPv6, prefix-list, ICMP, GRE and ALL rules, then plans nothing more', async () => {
    const target: SeedRule[] = [
      { direction: 'ingress', ipProtocol: 'TCP', portRange: '443/443', ipv6SourceCidrIp: '2001:db8::/32', policy: 'accept', priority: 1 },
      { direction: 'egress', ipProtocol: 'ICMPv6', portRange: '-1/-1', ipv6DestCidrIp: '::/0', policy: 'accept', priority: 1 },
      { direction: 'ingress', ipProtocol: 'TCP', portRange: '9100/9100', sourcePrefixListId: 'pl-office', policy: 'accept', priority: 1 },
      { direction: 'egress', ipProtocol: 'UDP', portRange: '53/53', destPrefixListId: 'pl-dns', policy: 'accept', priority: 2 },
      { direction: 'ingress', ipProtocol: 'ICMP', portRange: '-1/-1', sourceCidrIp: '10.0.0.0/8', policy: 'accept', priority: 1 },
      { direction: 'egress', ipProtocol: 'GRE', portRange: '-1/-1', destCidrIp: '10.0.30.0/24', policy: 'accept', priority: 1 },
      { direction: 'egress', ipProtocol: 'ALL', portRange: '-1/-1', destCidrIp: '0.0.0.0/0', policy: 'drop', priority: 100 },
    ];
    seed(emulator, [group(ORIGINAL, [tcpIn(22)]), group(TARGET, target)]);
    const applied = await runCli(emulator, ['apply', ...args(), '--yes', '--output', 'json']);
    expect(applied.code, applied.stderr).to.equal(0);
    expect(applied.json<{ applied: object }>().applied).to.deep.equal({ added: 7, removed: 1, updated: 0, skippedSystemRules: 0 });
    expect(content(emulator.rules(ORIGINAL))).to.deep.equal(content(emulator.rules(TARGET)));
    const again = await runCli(emulator, ['plan', ...args(), '--output', 'json']);
    expect(again.json<{ counts: object }>().counts).to.include({ toAdd: 0, toRemove: 0, toUpdate: 0, unchanged: 7 });
  });

  it('matches rules written differently (IPv6 spelling, bare address, protocol case) instead of re-adding them', async () => {
    seed(emulator, [
      group(ORIGINAL, [
        { direction: 'ingress', ipProtocol: 'tcp', portRange: '443/443', ipv6SourceCidrIp: '2001:DB8:0:0::/32', policy: 'Accept', priority: 1 },
        { direction: 'ingress', ipProtocol: 'TCP', portRange: '22/22', sourceCidrIp: '10.1.2.3', policy: 'accept', priority: 1 },
      ]),
      group(TARGET, [
        { direction: 'ingress', ipProtocol: 'TCP', portRange: '443/443', ipv6SourceCidrIp: '2001:db8::/32', policy: 'accept', priority: 1 },
        { direction: 'ingress', ipProtocol: 'TCP', portRange: '22/22', sourceCidrIp: '10.1.2.3/32', policy: 'accept', priority: 1 },
      ]),
    ]);
    const plan = await runCli(emulator, ['plan', ...args(), '--output', 'json']);
    expect(plan.json<{ counts: object }>().counts).to.deep.equal({ toAdd: 0, toRemove: 0, toUpdate: 0, unchanged: 2, skippedSystemRules: 0 });
  });

  it('converges with throttling on every 3rd mutating call and a 503 on every 4th call', async () => {
    const target = [...Array.from({ length: 30 }, (_, i) => tcpIn(1000 + i, { description: `in ${i}` })), ...Array.from({ length: 30 }, (_, i) => tcpOut(1000 + i))];
    const original = [tcpIn(1000, { description: 'old', priority: 9 }), tcpIn(22), tcpOut(25), tcpOut(26)];
    seed(emulator, [group(ORIGINAL, original), group(TARGET, target)]);
    emulator.setFaults({ throttleEveryNthMutating: 3, errorEveryNthCall: 4 });
    emulator.clearCalls();
    const applied = await runCli(emulator, ['apply', ...args(), '--yes', '--output', 'json']);
    expect(applied.code, applied.stderr).to.equal(0);
    const calls = emulator.calls();
    expect(calls.some((c) => c.code === 'Throttling.User')).to.equal(true);
    expect(calls.some((c) => c.status === 503)).to.equal(true);
    expect(content(emulator.rules(ORIGINAL))).to.deep.equal(content(emulator.rules(TARGET)));
    expect(applied.stderr).to.match(/retrying ECS call/);
  });

  it('converges when mutating calls are applied but their responses are lost', async () => {
    const target = Array.from({ length: 12 }, (_, i) => tcpIn(1000 + i));
    seed(emulator, [group(ORIGINAL, [tcpIn(22), tcpOut(25)]), group(TARGET, target)]);
    emulator.setFaults({ applyThenDropEveryNthMutating: 2 });
    emulator.clearCalls();
    const applied = await runCli(emulator, ['apply', ...args(), '--yes', '--output', 'json']);
    expect(applied.code, applied.stderr).to.equal(0);
    expect(emulator.calls().some((c) => c.replay === true || c.fault !== undefined)).to.equal(true);
    expect(content(emulator.rules(ORIGINAL))).to.deep.equal(content(emulator.rules(TARGET)));
  });

  it('isolates a rule ECS refuses by splitting its batch, applies the rest, removes nothing, and exits 1 naming the rule', async () => {
    const target = [
      ...Array.from({ length: 40 }, (_, i) => tcpIn(1000 + i)),
      // A reference to a group in another VPC: only ECS knows it cannot be held.
      { direction: 'ingress', ipProtocol: 'TCP', portRange: '5432/5432', sourceGroupId: 'sg-elsewhere', policy: 'accept', priority: 1 },
    ];
    // The backup lives in another VPC of the same network type, beside the group it references.
    seed(emulator, [group(ORIGINAL, [tcpIn(22)], { vpcId: 'vpc-9' }), group(TARGET, target), group('sg-elsewhere', [])]);
    emulator.clearCalls();
    const run = await runCli(emulator, ['apply', ...args(), '--yes', '--output', 'json']);
    expect(run.code).to.equal(1);
    const body = run.json<{ applied: { added: number; removed: number }; removalsSkipped: boolean; failures: { code: string; requestId: string; rule: { rendering: string } }[] }>();
    expect(body.applied).to.include({ added: 40, removed: 0 });
    expect(body.removalsSkipped).to.equal(true);
    expect(body.failures).to.have.length(1);
    expect(body.failures[0]?.rule.rendering).to.equal('ingress accept TCP 5432/5432 from sg-elsewhere (account 1234567890) priority 1');
    expect(body.failures[0]?.code).to.match(/Mismatch/);
    expect(body.failures[0]?.requestId).to.match(/^[0-9A-F-]{36}$/);
    expect(emulator.rules(ORIGINAL).map((r) => r.PortRange)).to.include('22/22');
    // Halving isolated the bad rule in a handful of calls, not one call per rule.
    expect(emulator.calls().filter((c) => c.action === 'AuthorizeSecurityGroup').length).to.be.at.most(2 * Math.ceil(Math.log2(41)) + 1);
  });

  it('makes zero mutating calls on a second apply', async () => {
    seed(emulator, [group(ORIGINAL, [tcpIn(22, { priority: 5 }), tcpOut(25)]), group(TARGET, [tcpIn(22), tcpIn(443), tcpOut(53)])]);
    expect((await runCli(emulator, ['apply', ...args(), '--yes'])).code).to.equal(0);
    emulator.clearCalls();
    const second = await runCli(emulator, ['apply', ...args(), '--yes', '--output', 'json']);
    expect(second.code, second.stderr).to.equal(0);
    expect(second.json<{ applied: object }>().applied).to.deep.equal({ added: 0, removed: 0, updated: 0, skippedSystemRules: 0 });
    expect(mutating(emulator.calls())).to.have.length(0);
  });

  it('applies only the approved plan, and refuses with exit 2 when the groups changed since', async () => {
    seed(emulator, [group(ORIGINAL, [tcpIn(22)]), group(TARGET, [tcpIn(443)])]);
    const plan = await runCli(emulator, ['plan', ...args(), '--output', 'json']);
    const hash = plan.json<{ planHash: string }>().planHash;
    seed(emulator, [group(ORIGINAL, [tcpIn(22), tcpIn(23)]), group(TARGET, [tcpIn(443)])]);
    emulator.clearCalls();
    const refused = await runCli(emulator, ['apply', ...args(), '--approve', hash]);
    expect(refused.code).to.equal(2);
    expect(refused.stderr).to.match(new RegExp(`plan changed since it was approved \\(approved ${hash}, now [0-9a-f]{16}\\); nothing was changed`));
    expect(mutating(emulator.calls())).to.have.length(0);
    const fresh = (await runCli(emulator, ['plan', ...args(), '--output', 'json'])).json<{ planHash: string }>().planHash;
    const approved = await runCli(emulator, ['apply', ...args(), '--approve', fresh]);
    expect(approved.code, approved.stderr).to.equal(0);
  });

  describe('preconditions exit 2 with a message naming the group, region or field, and change nothing', () => {
    const cases: { name: string; groups: () => SeedGroup[]; other?: () => SeedGroup[]; argv: string[]; message: RegExp }[] = [
      { name: 'the same group as original and target', groups: () => [group(ORIGINAL, [])], argv: ['--region', REGION, '--original', ORIGINAL, '--target', ORIGINAL], message: /--target: the original and target groups are both sg-original/ },
      { name: 'an original missing in the region', groups: () => [group(TARGET, [tcpIn(1)])], argv: args(), message: /original security group sg-original not found in region cn-hangzhou; the original and target groups must be in the same region/ },
      { name: 'a target in another region', groups: () => [group(ORIGINAL, [])], other: () => [group(TARGET, [tcpIn(1)])], argv: args(), message: /target security group sg-target not found in region cn-hangzhou; the original and target groups must be in the same region/ },
      { name: 'groups of different network types', groups: () => [group(ORIGINAL, []), group(TARGET, [tcpIn(1)], { vpcId: '' })], argv: args(), message: /sg-original is in a VPC \(vpc-1\) but target group sg-target is in a classic network/ },
      { name: 'a malformed region', groups: () => [], argv: ['--region', 'Hangzhou', '--original', ORIGINAL, '--target', TARGET], message: /--region: region "Hangzhou" is not a region id/ },
      { name: 'a malformed group id', groups: () => [], argv: ['--region', REGION, '--original', 'web', '--target', TARGET], message: /--original: originalSecurityGroupId "web" is not a security group id/ },
      { name: 'an unknown mode', groups: () => [], argv: [...args('full')], message: /--mode: mode "full" is neither complete nor partial/ },
      { name: 'apply without --yes or --approve', groups: () => [], argv: args(), message: /apply needs --yes, or --approve PLANHASH/ },
    ];
    for (const c of cases) {
      it(`refuses ${c.name}`, async () => {
        seed(emulator, c.groups(), c.other?.() ?? []);
        emulator.clearCalls();
        const run = await runCli(emulator, c.name.startsWith('apply without') ? ['apply', ...c.argv] : ['apply', ...c.argv, '--yes']);
        expect(run.code, run.stderr).to.equal(2);
        expect(run.stderr).to.match(c.message);
        expect(mutating(emulator.calls())).to.have.length(0);
      });
    }
  });

  it('fails with a clear authentication error on a wrong secret and changes nothing', async () => {
    seed(emulator, [group(ORIGINAL, [tcpIn(22)]), group(TARGET, [tcpIn(443)])]);
    emulator.clearCalls();
    const run = await runCli(emulator, ['apply', ...args(), '--yes'], { secret: 'wrong-secret' });
    expect(run.code).to.equal(1);
    expect(run.stderr).to.match(/SignatureDoesNotMatch/);
    expect(run.stderr).to.match(/RequestId [0-9A-F-]{36}/);
    expect(run.stderr).to.match(/Authentication failed: check ALIBABA_CLOUD_ACCESS_KEY_ID/);
    expect(run.stderr).to.not.include('wrong-secret');
    expect(emulator.calls().every((c) => !c.applied || !c.mutating)).to.equal(true);
    expect(emulator.rules(ORIGINAL).map((r) => r.PortRange)).to.deep.equal(['22/22']);
  });

  it('reports a rule the original cannot hold and still applies the rest', async () => {
    seed(emulator, [
      group(ORIGINAL, [], { type: 'enterprise' }),
      group(TARGET, [tcpIn(22, { policy: 'drop' }), tcpIn(443), { direction: 'ingress', ipProtocol: 'TCP', portRange: '80/80', sourceGroupId: TARGET, policy: 'accept', priority: 1 }]),
    ]);
    const run = await runCli(emulator, ['apply', ...args('partial'), '--yes', '--output', 'json']);
    expect(run.code, run.stderr).to.equal(0);
    const body = run.json<{ applied: { added: number }; problems: { reason: string }[] }>();
    expect(body.applied.added).to.equal(1);
    expect(body.problems.map((p) => p.reason).sort()).to.deep.equal(['EnterpriseGroupRejectsDrop', 'EnterpriseGroupRejectsGroupReference']);
    expect(emulator.rules(ORIGINAL).map((r) => r.PortRange)).to.deep.equal(['443/443']);
  });
});
