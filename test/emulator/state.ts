// In-memory ECS state: groups with their rules, prefix lists, the owner account. No HTTP here.
import { randomBytes } from 'node:crypto';
import type { Direction, EmulatedGroup, EmulatedPermission, GroupType } from './types.ts';

export type Peer =
  | { readonly kind: 'cidr4'; readonly value: string; readonly canonical: string }
  | { readonly kind: 'cidr6'; readonly value: string; readonly canonical: string }
  | { readonly kind: 'group'; readonly groupId: string; readonly ownerAccount: string }
  | { readonly kind: 'prefixList'; readonly id: string };

/** A rule as stored, values normalised the way ECS returns them. */
export interface RuleSpec {
  readonly direction: Direction;
  readonly ipProtocol: string;
  readonly portRange: string;
  readonly sourcePortRange: string;
  readonly portRangeListId: string;
  readonly peer: Peer;
  /** Ingress: DestCidrIp / Ipv6DestCidrIp; egress: SourceCidrIp / Ipv6SourceCidrIp (not the peer). */
  readonly localCidrIp: string;
  readonly localIpv6CidrIp: string;
  readonly policy: 'Accept' | 'Drop';
  readonly priority: number;
  readonly nicType: 'internet' | 'intranet';
  readonly description: string;
}

export interface StoredRule extends RuleSpec {
  /** Creation order; DSGA pages by it. */
  readonly seq: number;
  readonly id: string;
  readonly createTime: string;
}

export interface StoredGroup {
  readonly regionId: string;
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly type: GroupType;
  readonly vpcId: string;
  readonly innerAccessPolicy: 'Accept' | 'Drop';
  readonly creationTime: string;
  readonly resourceGroupId: string;
  readonly tags: Readonly<Record<string, string>>;
  rules: StoredRule[];
}

export function isClassic(group: Pick<StoredGroup, 'vpcId'>): boolean {
  return group.vpcId === '';
}

/** `2026-12-04T14:59:09Z` — the CreateTime / CreationTime format ECS uses. */
export function ecsTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function peerKey(peer: Peer): string {
  switch (peer.kind) {
    case 'cidr4':
    case 'cidr6':
      return `${peer.kind}:${peer.canonical}`;
    case 'group':
      return `group:${peer.groupId}@${peer.ownerAccount}`;
    case 'prefixList':
      return `pl:${peer.id}`;
  }
}

/**
 * What ECS treats as "the same rule" (ecs-api.md §3.2): direction, protocol, port range, the one peer, policy;
 * NicType in classic groups (internet and intranet rules are distinct); Priority only when the switch says so.
 * Never Description, SourcePortRange or the local-side CIDR.
 */
export function identityKey(spec: RuleSpec, classic: boolean, withPriority: boolean): string {
  return JSON.stringify([
    spec.direction,
    spec.ipProtocol,
    spec.portRange === '' ? `list:${spec.portRangeListId}` : spec.portRange,
    peerKey(spec.peer),
    spec.policy,
    classic ? spec.nicType : '',
    withPriority ? spec.priority : '',
  ]);
}

const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

function randomSuffix(length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  for (const b of bytes) out += ID_ALPHABET[b % ID_ALPHABET.length];
  return out;
}

export class EmulatorState {
  accountId: string;
  private readonly groups = new Map<string, StoredGroup>();
  /** regionId → prefix-list id → name */
  private readonly prefixLists = new Map<string, Map<string, string>>();
  private readonly ruleIds = new Set<string>();
  private seq = 0;

  constructor(accountId: string) {
    this.accountId = accountId;
  }

  addGroup(group: StoredGroup): void {
    this.groups.set(group.id, group);
    for (const rule of group.rules) this.ruleIds.add(rule.id);
  }

  hasGroupId(id: string): boolean {
    return this.groups.has(id);
  }

  /** The group if it exists in that region. */
  findGroup(regionId: string, id: string): StoredGroup | undefined {
    const group = this.groups.get(id);
    return group && group.regionId === regionId ? group : undefined;
  }

  findGroupAnyRegion(id: string): StoredGroup | undefined {
    return this.groups.get(id);
  }

  groupsInRegion(regionId: string): StoredGroup[] {
    return [...this.groups.values()].filter((g) => g.regionId === regionId);
  }

  allGroups(): StoredGroup[] {
    return [...this.groups.values()];
  }

  addPrefixList(regionId: string, id: string, name: string): void {
    let lists = this.prefixLists.get(regionId);
    if (!lists) {
      lists = new Map();
      this.prefixLists.set(regionId, lists);
    }
    if (!lists.has(id) || name !== '') lists.set(id, name);
  }

  prefixListName(regionId: string, id: string): string | undefined {
    return this.prefixLists.get(regionId)?.get(id);
  }

  nextSeq(): number {
    this.seq += 1;
    return this.seq;
  }

  /** Registers a seeded rule id; false when it is taken. */
  claimRuleId(id: string): boolean {
    if (this.ruleIds.has(id)) return false;
    this.ruleIds.add(id);
    return true;
  }

  newRuleId(): string {
    for (;;) {
      const id = `sgr-bp1${randomSuffix(17)}`;
      if (this.claimRuleId(id)) return id;
    }
  }

  newRule(spec: RuleSpec, now: Date): StoredRule {
    return { ...spec, seq: this.nextSeq(), id: this.newRuleId(), createTime: ecsTime(now) };
  }

  /** The rule as DescribeSecurityGroupAttribute returns it. */
  toPermission(group: StoredGroup, rule: StoredRule): EmulatedPermission {
    const p: EmulatedPermission = {
      SecurityGroupRuleId: rule.id,
      Direction: rule.direction,
      IpProtocol: rule.ipProtocol,
      PortRange: rule.portRange,
      SourcePortRange: rule.sourcePortRange,
      SourceCidrIp: '',
      DestCidrIp: '',
      Ipv6SourceCidrIp: '',
      Ipv6DestCidrIp: '',
      SourceGroupId: '',
      SourceGroupName: '',
      SourceGroupOwnerAccount: '',
      DestGroupId: '',
      DestGroupName: '',
      DestGroupOwnerAccount: '',
      SourcePrefixListId: '',
      SourcePrefixListName: '',
      DestPrefixListId: '',
      DestPrefixListName: '',
      PortRangeListId: rule.portRangeListId,
      PortRangeListName: '',
      Policy: rule.policy,
      Priority: rule.priority,
      NicType: rule.nicType,
      Description: rule.description,
      CreateTime: rule.createTime,
    };
    const ingress = rule.direction === 'ingress';
    if (ingress) {
      p.DestCidrIp = rule.localCidrIp;
      p.Ipv6DestCidrIp = rule.localIpv6CidrIp;
    } else {
      p.SourceCidrIp = rule.localCidrIp;
      p.Ipv6SourceCidrIp = rule.localIpv6CidrIp;
    }
    const peer = rule.peer;
    switch (peer.kind) {
      case 'cidr4':
        if (ingress) p.SourceCidrIp = peer.value;
        else p.DestCidrIp = peer.value;
        break;
      case 'cidr6':
        if (ingress) p.Ipv6SourceCidrIp = peer.value;
        else p.Ipv6DestCidrIp = peer.value;
        break;
      case 'group': {
        const referenced = peer.ownerAccount === this.accountId ? this.findGroup(group.regionId, peer.groupId) : undefined;
        const name = referenced?.name ?? '';
        if (ingress) {
          p.SourceGroupId = peer.groupId;
          p.SourceGroupName = name;
          p.SourceGroupOwnerAccount = peer.ownerAccount;
        } else {
          p.DestGroupId = peer.groupId;
          p.DestGroupName = name;
          p.DestGroupOwnerAccount = peer.ownerAccount;
        }
        break;
      }
      case 'prefixList': {
        const name = this.prefixListName(group.regionId, peer.id) ?? '';
        if (ingress) {
          p.SourcePrefixListId = peer.id;
          p.SourcePrefixListName = name;
        } else {
          p.DestPrefixListId = peer.id;
          p.DestPrefixListName = name;
        }
        break;
      }
    }
    return p;
  }

  permissions(group: StoredGroup): EmulatedPermission[] {
    return group.rules.map((r) => this.toPermission(group, r));
  }

  toEmulatedGroup(group: StoredGroup): EmulatedGroup {
    return {
      regionId: group.regionId,
      id: group.id,
      name: group.name,
      description: group.description,
      type: group.type,
      vpcId: group.vpcId,
      innerAccessPolicy: group.innerAccessPolicy,
      creationTime: group.creationTime,
      resourceGroupId: group.resourceGroupId,
      tags: { ...group.tags },
      rules: this.permissions(group),
    };
  }
}
