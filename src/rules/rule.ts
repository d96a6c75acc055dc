// The normalized security-group rule every other layer works with, and the parser that makes one from an ECS
// `Permission` (DescribeSecurityGroupAttribute, either direction). Both groups are parsed the same way before any
// comparison: ACK's worst incidents came from comparing un-normalized rules.

import { normalizeIpv4Cidr, normalizeIpv6Cidr } from './ip.ts';

export type Direction = 'ingress' | 'egress';
export type Policy = 'accept' | 'drop';
export type NicType = 'intranet' | 'internet';
export type NetworkType = 'vpc' | 'classic';

/** Exactly one authorization object: the source of an ingress rule, the destination of an egress rule. */
export type Peer =
  | { readonly kind: 'ipv4'; readonly cidr: string }
  | { readonly kind: 'ipv6'; readonly cidr: string }
  | { readonly kind: 'group'; readonly groupId: string; readonly ownerAccount?: string }
  | { readonly kind: 'prefixList'; readonly prefixListId: string };

export interface Rule {
  /** The `sgr-…` id of this rule in the group it was read from (absent for rules still to be created). */
  readonly ruleId?: string;
  readonly direction: Direction;
  /** Upper case: TCP, UDP, ICMP, ICMPV6, GRE, ALL, or an IANA protocol number. */
  readonly protocol: string;
  /** `start/end`; `-1/-1` for protocols without ports. */
  readonly portRange: string;
  readonly portRangeListId?: string;
  readonly sourcePortRange?: string;
  readonly peer: Peer;
  /** The rule's own-side IPv4 CIDR: DestCidrIp of an ingress rule, SourceCidrIp of an egress rule. Rare. */
  readonly localCidr?: string;
  readonly policy: Policy;
  /** 1–100 for user rules; 110 for system rules. */
  readonly priority: number;
  readonly nicType: NicType;
  readonly description?: string;
}

/** Priority ECS gives system-level rules; a restore never creates them (the console skips and counts them). */
export const SYSTEM_RULE_PRIORITY = 110;

export function isSystemRule(rule: Rule): boolean {
  return rule.priority === SYSTEM_RULE_PRIORITY;
}

/**
 * The fields of an ECS Permission as the SDK models name them. Values arrive as strings (the SDK casts numbers),
 * and ECS returns unset fields as `""`.
 */
export interface PermissionFields {
  readonly securityGroupRuleId?: string;
  readonly direction?: string;
  readonly ipProtocol?: string;
  readonly portRange?: string;
  readonly portRangeListId?: string;
  readonly sourcePortRange?: string;
  readonly sourceCidrIp?: string;
  readonly destCidrIp?: string;
  readonly ipv6SourceCidrIp?: string;
  readonly ipv6DestCidrIp?: string;
  readonly sourceGroupId?: string;
  readonly destGroupId?: string;
  readonly sourceGroupOwnerAccount?: string | number;
  readonly destGroupOwnerAccount?: string | number;
  readonly sourcePrefixListId?: string;
  readonly destPrefixListId?: string;
  readonly policy?: string;
  readonly priority?: string | number;
  readonly nicType?: string;
  readonly description?: string;
}

export type ParseResult = { readonly ok: true; readonly rule: Rule } | { readonly ok: false; readonly reason: string };

const PORTLESS_PROTOCOLS = new Set(['ICMP', 'ICMPV6', 'GRE', 'ALL']);
const PORTED_PROTOCOLS = new Set(['TCP', 'UDP']);
/** IANA numbers ECS also accepts; spelled by name so that `6` and `TCP` are one rule (never add one, remove the other). */
const PROTOCOL_NUMBERS: Readonly<Record<string, string>> = { '1': 'ICMP', '6': 'TCP', '17': 'UDP', '47': 'GRE', '58': 'ICMPV6' };

/** `""`, `null` and `undefined` all mean "absent", as ECS returns unset fields as empty strings. */
function present(value: string | number | undefined | null): string | undefined {
  if (value === undefined || value === null) return undefined;
  const text = String(value).trim();
  return text === '' ? undefined : text;
}

export function normalizeProtocol(input: string): string | undefined {
  const upper = input.trim().toUpperCase();
  if (/^[0-9]{1,3}$/.test(upper)) {
    const n = Number(upper);
    if (n > 255) return undefined;
    return PROTOCOL_NUMBERS[String(n)] ?? String(n);
  }
  return PORTLESS_PROTOCOLS.has(upper) || PORTED_PROTOCOLS.has(upper) ? upper : undefined;
}

/** Validates a `start/end` range for the protocol and returns its canonical spelling. */
export function normalizePortRange(protocol: string, input: string | undefined, field = 'PortRange'): ParseRange {
  if (PORTLESS_PROTOCOLS.has(protocol)) return { ok: true, range: '-1/-1' };
  if (input === undefined) {
    return PORTED_PROTOCOLS.has(protocol)
      ? { ok: false, reason: `${field} is required for ${protocol}` }
      : { ok: true, range: '-1/-1' };
  }
  const match = /^(-?[0-9]+)\/(-?[0-9]+)$/.exec(input.trim());
  if (!match) return { ok: false, reason: `${field} "${input}" is not of the form start/end` };
  const start = Number(match[1]);
  const end = Number(match[2]);
  if (!PORTED_PROTOCOLS.has(protocol)) return { ok: true, range: `${start}/${end}` };
  // ECS documents -1/-1 only for port-less protocols; for TCP/UDP it means every port.
  if (start === -1 && end === -1) return { ok: true, range: '1/65535' };
  if (start < 1 || end > 65535 || start > end) {
    return { ok: false, reason: `${field} "${input}" must be start/end with 1 <= start <= end <= 65535` };
  }
  return { ok: true, range: `${start}/${end}` };
}
type ParseRange = { readonly ok: true; readonly range: string } | { readonly ok: false; readonly reason: string };

export interface ParseContext {
  /** VPC groups only have intranet rules, whatever a response says. */
  readonly networkType: NetworkType;
}

/** One ECS Permission → a normalized Rule, or the reason it cannot be one. */
export function parsePermission(p: PermissionFields, ctx: ParseContext): ParseResult {
  const fail = (reason: string): ParseResult => ({ ok: false, reason: p.securityGroupRuleId ? `rule ${p.securityGroupRuleId}: ${reason}` : reason });

  const directionText = present(p.direction)?.toLowerCase();
  if (directionText !== 'ingress' && directionText !== 'egress') return fail(`Direction "${p.direction ?? ''}" is neither ingress nor egress`);
  const direction: Direction = directionText;

  const protocolText = present(p.ipProtocol);
  if (!protocolText) return fail('IpProtocol is missing');
  const protocol = normalizeProtocol(protocolText);
  if (!protocol) return fail(`IpProtocol "${protocolText}" is not one of TCP, UDP, ICMP, ICMPv6, GRE, ALL or 0-255`);

  const portRangeListId = present(p.portRangeListId);
  const ports = normalizePortRange(protocol, present(p.portRange) ?? (portRangeListId ? '-1/-1' : undefined));
  if (!ports.ok) return fail(ports.reason);

  const sourcePortText = present(p.sourcePortRange);
  let sourcePortRange: string | undefined;
  if (sourcePortText !== undefined && sourcePortText !== '-1/-1') {
    const src = normalizePortRange(protocol, sourcePortText, 'SourcePortRange');
    if (!src.ok) return fail(src.reason);
    sourcePortRange = src.range === '-1/-1' ? undefined : src.range;
  }

  const peer = parsePeer(p, direction);
  if (!peer.ok) return fail(peer.reason);

  const localText = present(direction === 'ingress' ? p.destCidrIp : p.sourceCidrIp);
  let localCidr: string | undefined;
  if (localText !== undefined) {
    const local = normalizeIpv4Cidr(localText);
    if (!local.ok) return fail(`${direction === 'ingress' ? 'DestCidrIp' : 'SourceCidrIp'}: ${local.reason}`);
    localCidr = local.cidr;
  }

  const policyText = (present(p.policy) ?? 'accept').toLowerCase();
  if (policyText !== 'accept' && policyText !== 'drop') return fail(`Policy "${p.policy ?? ''}" is neither accept nor drop`);

  const priorityText = present(p.priority) ?? '1';
  const priority = /^[0-9]+$/.test(priorityText) ? Number(priorityText) : NaN;
  if (!(priority >= 1 && priority <= 100) && priority !== SYSTEM_RULE_PRIORITY) {
    return fail(`Priority "${priorityText}" is not 1-100 (or 110 for a system rule)`);
  }

  let nicType: NicType = 'intranet';
  if (ctx.networkType === 'classic') {
    const nicText = (present(p.nicType) ?? 'internet').toLowerCase();
    if (nicText !== 'internet' && nicText !== 'intranet') return fail(`NicType "${p.nicType ?? ''}" is neither internet nor intranet`);
    nicType = nicText;
  }

  const ruleId = present(p.securityGroupRuleId);
  const description = present(p.description);
  return {
    ok: true,
    rule: {
      ...(ruleId !== undefined && { ruleId }),
      direction,
      protocol,
      portRange: ports.range,
      ...(portRangeListId !== undefined && { portRangeListId }),
      ...(sourcePortRange !== undefined && { sourcePortRange }),
      peer: peer.peer,
      ...(localCidr !== undefined && { localCidr }),
      policy: policyText,
      priority,
      nicType,
      ...(description !== undefined && { description }),
    },
  };
}

type PeerResult = { readonly ok: true; readonly peer: Peer } | { readonly ok: false; readonly reason: string };

/** ECS precedence when a response carries several: an IPv4 CIDR beats a group, any CIDR or group beats a prefix list. */
function parsePeer(p: PermissionFields, direction: Direction): PeerResult {
  const ingress = direction === 'ingress';
  const v4 = present(ingress ? p.sourceCidrIp : p.destCidrIp);
  const v6 = present(ingress ? p.ipv6SourceCidrIp : p.ipv6DestCidrIp);
  const group = present(ingress ? p.sourceGroupId : p.destGroupId);
  const owner = present(ingress ? p.sourceGroupOwnerAccount : p.destGroupOwnerAccount);
  const prefixList = present(ingress ? p.sourcePrefixListId : p.destPrefixListId);
  const side = ingress ? 'Source' : 'Dest';
  if (v4 !== undefined) {
    const cidr = normalizeIpv4Cidr(v4);
    return cidr.ok ? { ok: true, peer: { kind: 'ipv4', cidr: cidr.cidr } } : { ok: false, reason: `${side}CidrIp: ${cidr.reason}` };
  }
  if (v6 !== undefined) {
    const cidr = normalizeIpv6Cidr(v6);
    return cidr.ok ? { ok: true, peer: { kind: 'ipv6', cidr: cidr.cidr } } : { ok: false, reason: `Ipv6${side}CidrIp: ${cidr.reason}` };
  }
  if (group !== undefined) {
    if (!/^sg-[A-Za-z0-9-]+$/.test(group)) return { ok: false, reason: `${side}GroupId "${group}" is not a security group id` };
    return { ok: true, peer: { kind: 'group', groupId: group, ...(owner !== undefined && { ownerAccount: owner }) } };
  }
  if (prefixList !== undefined) return { ok: true, peer: { kind: 'prefixList', prefixListId: prefixList } };
  return { ok: false, reason: `no ${ingress ? 'source' : 'destination'}: one of ${side}CidrIp, Ipv6${side}CidrIp, ${side}GroupId or ${side}PrefixListId is required` };
}
