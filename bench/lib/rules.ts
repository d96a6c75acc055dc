// Benchmark scenarios: pairs of security groups (original, target) whose restore is a plan of a given size with a
// fixed mix of changes; the minimum number of ECS calls such a restore needs; and the checks the chaos run makes on
// the emulator's state and call log.

import { userRuleContent } from '../../test/emulator/compare.ts';
import type { CallRecord, EmulatedPermission, SeedGroup, SeedRule } from '../../test/emulator/server.ts';

export const REGION = 'cn-hangzhou';
/** DescribeSecurityGroupAttribute's largest page (MaxResults 10–1000). */
export const DESCRIBE_PAGE = 1000;
/** Permissions.N / SecurityGroupRuleId.N entries per Authorize/Revoke call. */
export const BATCH = 100;

/** How many changes of each kind a plan of `changes` changes holds: 40 % adds, 40 % removes, 20 % updates. */
export interface ChangeMix {
  readonly addIngress: number;
  readonly addEgress: number;
  readonly removeIngress: number;
  readonly removeEgress: number;
  readonly updateIngress: number;
  readonly updateEgress: number;
}

export function changeMix(changes: number): ChangeMix {
  const adds = Math.round(changes * 0.4);
  const removes = Math.round(changes * 0.4);
  const updates = changes - adds - removes;
  const split = (n: number): [number, number] => [Math.ceil(n / 2), Math.floor(n / 2)];
  const [addIngress, addEgress] = split(adds);
  const [removeIngress, removeEgress] = split(removes);
  const [updateIngress, updateEgress] = split(updates);
  return { addIngress, addEgress, removeIngress, removeEgress, updateIngress, updateEgress };
}

export interface Scenario {
  readonly original: SeedGroup;
  readonly target: SeedGroup;
  readonly changes: number;
  readonly mix: ChangeMix;
  /** Rules both groups hold with the same identity (unchanged and to-be-updated), by identity key. */
  readonly shared: readonly string[];
}

const rule = (direction: 'ingress' | 'egress', port: number, priority = 1, description?: string): SeedRule => ({
  direction,
  ipProtocol: 'TCP',
  portRange: `${port}/${port}`,
  ...(direction === 'ingress' ? { sourceCidrIp: '10.0.0.0/8' } : { destCidrIp: '10.0.0.0/8' }),
  policy: 'accept',
  priority,
  ...(description !== undefined && { description }),
});

/** The ECS-managed rule a new group may carry; restores skip it (never created, never removed). */
const SYSTEM_RULE: SeedRule = { direction: 'ingress', ipProtocol: 'ICMP', portRange: '-1/-1', sourceCidrIp: '0.0.0.0/0', policy: 'accept', priority: 110 };

/**
 * A pair of VPC groups whose Complete restore is exactly `changes` changes in the `changeMix` proportions, both
 * directions, plus `unchanged` rules per direction that both hold, and a system rule in the target.
 */
export function scenario(id: string, changes: number, unchanged = 5): Scenario {
  const mix = changeMix(changes);
  const original: SeedRule[] = [];
  const target: SeedRule[] = [];
  for (const direction of ['ingress', 'egress'] as const) {
    const add = direction === 'ingress' ? mix.addIngress : mix.addEgress;
    const remove = direction === 'ingress' ? mix.removeIngress : mix.removeEgress;
    const update = direction === 'ingress' ? mix.updateIngress : mix.updateEgress;
    for (let i = 0; i < unchanged; i++) {
      original.push(rule(direction, 1000 + i));
      target.push(rule(direction, 1000 + i));
    }
    for (let i = 0; i < remove; i++) original.push(rule(direction, 10_000 + i));
    for (let i = 0; i < add; i++) target.push(rule(direction, 20_000 + i));
    // Same identity, another priority and description: ModifySecurityGroup[Egress]Rule in place.
    for (let i = 0; i < update; i++) {
      original.push(rule(direction, 30_000 + i, 1, 'old'));
      target.push(rule(direction, 30_000 + i, 2, 'restored'));
    }
  }
  target.push(SYSTEM_RULE);
  const o: SeedGroup = { id: `sg-o${id}`, name: `original-${id}`, vpcId: 'vpc-bench', rules: original };
  const t: SeedGroup = { id: `sg-t${id}`, name: `backup-${id}`, vpcId: 'vpc-bench', rules: target };
  const originalKeys = new Set(original.map(seedIdentity));
  const shared = [...new Set(target.filter((r) => r.priority !== 110).map(seedIdentity))].filter((k) => originalKeys.has(k));
  return { original: o, target: t, changes, mix, shared };
}

/** Identity of a seed rule, in the same form as `permissionIdentity` gives for what the emulator serves. */
function seedIdentity(r: SeedRule): string {
  const ingress = r.direction === 'ingress';
  return identity({
    Direction: String(r.direction),
    IpProtocol: String(r.ipProtocol),
    PortRange: String(r.portRange),
    peer: String(ingress ? r.sourceCidrIp : r.destCidrIp),
    Policy: String(r.policy).toLowerCase(),
    NicType: 'intranet',
  });
}

function identity(fields: { Direction: string; IpProtocol: string; PortRange: string; peer: string; Policy: string; NicType: string }): string {
  return [fields.Direction, fields.NicType, fields.IpProtocol.toUpperCase(), fields.PortRange, fields.peer, fields.Policy].join('|');
}

/** ECS's identity of a rule (direction, NIC type, protocol, ports, peer, policy): what "the same rule" means. */
export function permissionIdentity(p: EmulatedPermission): string {
  const ingress = p.Direction === 'ingress';
  const peer = ingress
    ? p.SourceCidrIp || p.Ipv6SourceCidrIp || p.SourceGroupId || p.SourcePrefixListId
    : p.DestCidrIp || p.Ipv6DestCidrIp || p.DestGroupId || p.DestPrefixListId;
  return identity({ Direction: p.Direction, IpProtocol: p.IpProtocol, PortRange: p.PortRange, peer, Policy: p.Policy.toLowerCase(), NicType: p.NicType });
}

/** Whether two groups hold the same user rules (ids, times, peer names and system rules aside). */
export function sameContent(a: readonly EmulatedPermission[], b: readonly EmulatedPermission[]): boolean {
  const x = userRuleContent(a);
  const y = userRuleContent(b);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

export interface CallMinimum {
  readonly describe: number;
  readonly mutating: number;
  readonly total: number;
  /** One call per changed rule (plus the same describes): what a tool with one resource per rule makes. */
  readonly perRule: number;
}

/**
 * The fewest ECS calls a restore of this scenario can make: one DescribeSecurityGroups for both groups, one
 * DescribeSecurityGroupAttribute page of up to 1,000 rules per VPC group (at least one), ceil(n/100) calls per
 * action (Authorize, Revoke) and direction, and one Modify per update (ECS modifies one rule per call).
 */
export function minimumCalls(s: Scenario): CallMinimum {
  const pages = (g: SeedGroup) => Math.max(1, Math.ceil((g.rules?.length ?? 0) / DESCRIBE_PAGE));
  const describe = 1 + pages(s.original) + pages(s.target);
  const m = s.mix;
  const batches = (n: number) => Math.ceil(n / BATCH);
  const mutating = batches(m.addIngress) + batches(m.addEgress) + batches(m.removeIngress) + batches(m.removeEgress) + m.updateIngress + m.updateEgress;
  return { describe, mutating, total: describe + mutating, perRule: describe + s.changes };
}

export interface LossReport {
  /** Mutating calls on originals whose logged rules-after were checked. */
  readonly checkedCalls: number;
  /** (call, rule) pairs where a rule both groups held was missing from the original after the call. */
  readonly rulesLost: number;
  readonly examples: string[];
}

/** Every mutating call on an original: each rule that original and target both held must still be there after it. */
export function checkNoRuleLost(calls: readonly CallRecord[], scenarios: readonly Scenario[]): LossReport {
  const shared = new Map(scenarios.map((s) => [s.original.id, s.shared]));
  let checkedCalls = 0;
  let rulesLost = 0;
  const examples: string[] = [];
  for (const call of calls) {
    if (!call.mutating || !call.rulesAfter) continue;
    const groupId = call.params.SecurityGroupId ?? '';
    const keep = shared.get(groupId);
    const after = call.rulesAfter[groupId];
    if (!keep || !after) continue;
    checkedCalls++;
    const present = new Set(after.map(permissionIdentity));
    for (const key of keep) {
      if (present.has(key)) continue;
      rulesLost++;
      if (examples.length < 5) examples.push(`${key} absent from ${groupId} after ${call.action} #${call.seq}`);
    }
  }
  return { checkedCalls, rulesLost, examples };
}
