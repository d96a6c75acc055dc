// One `Permissions.N.*` entry (wire names, decoded strings) → a validated, normalised RuleSpec, with the error
// codes and statuses of ecs-api.md §3–§5. Used by Authorize/Revoke/Modify and by the seed loader.
import { badRequest, EcsApiError, forbidden, missingParameter, notFound } from './errors.ts';
import { canonicalIpv4Cidr, canonicalIpv6Cidr } from './net.ts';
import { isClassic } from './state.ts';
import type { EmulatorState, Peer, RuleSpec, StoredGroup, StoredRule } from './state.ts';
import type { Direction } from './types.ts';

export type RawEntry = Readonly<Record<string, string>>;

/** Wire names of the fields of one entry, per direction. */
export interface DirectionFields {
  readonly cidr: string;
  readonly ipv6: string;
  readonly group: string;
  readonly ownerAccount: string;
  readonly ownerId: string;
  readonly prefixList: string;
  readonly localCidr: string;
  readonly localIpv6: string;
  /** 'Source' for ingress, 'Dest' for egress: used in error codes. */
  readonly side: 'Source' | 'Dest';
}

export const FIELDS: Readonly<Record<Direction, DirectionFields>> = {
  ingress: {
    cidr: 'SourceCidrIp',
    ipv6: 'Ipv6SourceCidrIp',
    group: 'SourceGroupId',
    ownerAccount: 'SourceGroupOwnerAccount',
    ownerId: 'SourceGroupOwnerId',
    prefixList: 'SourcePrefixListId',
    localCidr: 'DestCidrIp',
    localIpv6: 'Ipv6DestCidrIp',
    side: 'Source',
  },
  egress: {
    cidr: 'DestCidrIp',
    ipv6: 'Ipv6DestCidrIp',
    group: 'DestGroupId',
    ownerAccount: 'DestGroupOwnerAccount',
    ownerId: 'DestGroupOwnerId',
    prefixList: 'DestPrefixListId',
    localCidr: 'SourceCidrIp',
    localIpv6: 'Ipv6SourceCidrIp',
    side: 'Dest',
  },
};

const COMMON_FIELDS = ['IpProtocol', 'PortRange', 'SourcePortRange', 'PortRangeListId', 'Policy', 'Priority', 'NicType', 'Description'] as const;

/** Every field name an entry of that direction may carry. */
export function entryFieldNames(direction: Direction): string[] {
  const f = FIELDS[direction];
  return [...COMMON_FIELDS, f.cidr, f.ipv6, f.group, f.ownerAccount, f.ownerId, f.prefixList, f.localCidr, f.localIpv6];
}

export type ParsePurpose = 'authorize' | 'revoke' | 'modify' | 'seed';

export interface ParseOptions {
  readonly purpose: ParsePurpose;
  /** Accept priority 110 (system rules): seeds, revoke, and a Modify that leaves a 110 untouched. */
  readonly allowSystemPriority: boolean;
}

const PROTOCOLS = new Set(['TCP', 'UDP', 'ICMP', 'ICMPV6', 'GRE', 'ALL']);
export const SYSTEM_PRIORITY = 110;

function value(raw: RawEntry, name: string): string {
  return (raw[name] ?? '').trim();
}

function parseProtocol(raw: RawEntry): string {
  const text = value(raw, 'IpProtocol');
  if (text === '') throw missingParameter('IpProtocol');
  const upper = text.toUpperCase();
  if (!PROTOCOLS.has(upper)) {
    throw badRequest('InvalidIpProtocol.ValueNotSupported', `The specified IpProtocol "${text}" is not supported; valid values: TCP, UDP, ICMP, ICMPv6, GRE, ALL.`);
  }
  return upper;
}

function hasPorts(protocol: string): boolean {
  return protocol === 'TCP' || protocol === 'UDP';
}

function parsePortRange(text: string, protocol: string, field: 'PortRange' | 'SourcePortRange'): string {
  const m = /^(-?\d+)\/(-?\d+)$/.exec(text);
  if (!m) {
    const code = field === 'PortRange' ? 'InvalidPortRange.Malformed' : 'InvalidSourcePortRange.Malformed';
    throw badRequest(code, `The specified ${field} "${text}" is malformed; use start/end, e.g. 22/22 or -1/-1.`);
  }
  const start = Number(m[1]);
  const end = Number(m[2]);
  const isAny = start === -1 && end === -1;
  if (hasPorts(protocol)) {
    if (isAny) throw badRequest('OperationDenied', `IpProtocol and ${field} do not match: ${protocol} needs ports 1-65535, not -1/-1.`);
    if (start < 1 || end > 65535 || start > end) {
      const code = field === 'PortRange' ? 'InvalidParam.PortRange' : 'InvalidSourcePortRange.Malformed';
      throw badRequest(code, `The specified ${field} "${text}" is not valid: start and end must be within 1-65535 and start <= end.`);
    }
    return `${start}/${end}`;
  }
  if (!isAny) throw badRequest('OperationDenied', `IpProtocol and ${field} do not match: ${protocol} takes -1/-1.`);
  return '-1/-1';
}

function parsePolicy(raw: RawEntry): 'Accept' | 'Drop' {
  const text = value(raw, 'Policy');
  if (text === '') return 'Accept';
  const lower = text.toLowerCase();
  if (lower === 'accept') return 'Accept';
  if (lower === 'drop') return 'Drop';
  throw badRequest('InvalidPolicy.Malformed', `The specified Policy "${text}" is not valid; valid values: accept, drop.`);
}

function parsePriority(raw: RawEntry, allowSystem: boolean): number {
  const text = value(raw, 'Priority');
  if (text === '') return 1;
  if (!/^-?\d+$/.test(text)) throw badRequest('InvalidPriority.Malformed', `The specified Priority "${text}" is malformed.`);
  const n = Number(text);
  if ((n >= 1 && n <= 100) || (allowSystem && n === SYSTEM_PRIORITY)) return n;
  throw badRequest('InvalidPriority.ValueNotSupported', `The specified Priority "${text}" is not supported; valid values: 1-100.`);
}

function parseDescription(raw: RawEntry): string {
  const text = raw['Description'] ?? '';
  if (text.length > 512) {
    throw badRequest('InvalidSecurityGroupDiscription.Malformed', 'The specified Description is malformed: it may have at most 512 characters.');
  }
  return text;
}

function parseNicType(raw: RawEntry, group: StoredGroup, peer: Peer, f: DirectionFields): 'internet' | 'intranet' {
  const text = value(raw, 'NicType');
  const lower = text.toLowerCase();
  if (text !== '' && lower !== 'internet' && lower !== 'intranet') {
    throw badRequest('InvalidNicType.ValueNotSupported', `The specified NicType "${text}" is not supported; valid values: internet, intranet.`);
  }
  if (!isClassic(group)) return 'intranet'; // VPC: always intranet, `internet` silently becomes intranet
  if (peer.kind === 'group') {
    if (lower === 'internet') {
      throw forbidden(`Invalid${f.side}GroupId.Mismatch`, `NicType must be intranet when the ${f.side === 'Source' ? 'source' : 'destination'} is a security group.`);
    }
    return 'intranet';
  }
  return lower === 'intranet' ? 'intranet' : 'internet';
}

function cidr4(text: string, field: string): { value: string; canonical: string } {
  const canonical = canonicalIpv4Cidr(text);
  if (!canonical) throw badRequest(`Invalid${field}.Malformed`, `The specified ${field} "${text}" is not a valid IPv4 address or CIDR block.`);
  return { value: text, canonical };
}

function cidr6(text: string, field: string, group: StoredGroup): { value: string; canonical: string } {
  if (isClassic(group)) {
    throw badRequest('NotSupported.ClassicNetworkIpv6', `${field}: IPv6 is not supported by security groups of the classic network.`);
  }
  const canonical = canonicalIpv6Cidr(text);
  if (!canonical) throw badRequest(`Invalid${field}.Malformed`, `The specified ${field} "${text}" is not a valid IPv6 address or CIDR block.`);
  return { value: text, canonical };
}

export type PeerKind = Peer['kind'];

/** Which peer an entry names, with ECS's precedence (CIDR beats group; anything beats a prefix list). */
export function peerKindOf(raw: RawEntry, direction: Direction): PeerKind | undefined {
  const f = FIELDS[direction];
  if (value(raw, f.cidr) !== '') return 'cidr4';
  if (value(raw, f.ipv6) !== '') return 'cidr6';
  if (value(raw, f.group) !== '') return 'group';
  if (value(raw, f.prefixList) !== '') return 'prefixList';
  return undefined;
}

function parsePeer(raw: RawEntry, direction: Direction, group: StoredGroup, state: EmulatorState, opts: ParseOptions): Peer {
  const f = FIELDS[direction];
  const v4 = value(raw, f.cidr);
  const v6 = value(raw, f.ipv6);
  if (v4 !== '' && v6 !== '') {
    throw badRequest(`InvalidParam.${f.side}Ip`, `${f.cidr} and ${f.ipv6} cannot be specified in the same rule.`);
  }
  const kind = peerKindOf(raw, direction);
  const checkExistence = opts.purpose !== 'revoke';
  switch (kind) {
    case 'cidr4':
      return { kind, ...cidr4(v4, f.cidr) };
    case 'cidr6':
      return { kind, ...cidr6(v6, f.ipv6, group) };
    case 'group': {
      const groupId = value(raw, f.group);
      const ownerAccount = value(raw, f.ownerAccount) || value(raw, f.ownerId) || state.accountId;
      if (group.type === 'enterprise' && opts.purpose !== 'revoke') {
        throw badRequest('InvalidGroupAuthParameter.OperationDenied', 'An enterprise (advanced) security group cannot reference other security groups in its rules.');
      }
      // Groups of other accounts are not modelled; they are assumed to exist.
      if (checkExistence && ownerAccount === state.accountId) {
        const referenced = state.findGroup(group.regionId, groupId);
        if (!referenced) {
          throw notFound(`Invalid${f.side}GroupId.NotFound`, `The specified ${f.group} "${groupId}" does not exist in region ${group.regionId}.`);
        }
        if (isClassic(referenced) !== isClassic(group) || referenced.vpcId !== group.vpcId) {
          throw badRequest(`Invalid${f.side}GroupId.Mismatch`, `The specified ${f.group} "${groupId}" is not in the same network (VPC) as ${group.id}.`);
        }
      }
      return { kind, groupId, ownerAccount };
    }
    case 'prefixList': {
      const id = value(raw, f.prefixList);
      if (isClassic(group)) {
        throw badRequest('NotSupported.ClassicNetworkPrefixList', 'Security groups of the classic network do not support prefix lists.');
      }
      if (checkExistence && state.prefixListName(group.regionId, id) === undefined) {
        throw notFound('InvalidPrefixListId.NotFound', `The specified ${f.prefixList} "${id}" does not exist in region ${group.regionId}.`);
      }
      return { kind, id };
    }
    case undefined:
      throw badRequest(
        `MissingParameter.${f.side}`,
        `One of ${f.cidr}, ${f.ipv6}, ${f.group} and ${f.prefixList} must be specified.`,
      );
  }
}

/** Validates and normalises one entry against the group it is for. Throws EcsApiError on the first problem. */
export function parseRuleSpec(raw: RawEntry, direction: Direction, group: StoredGroup, state: EmulatorState, opts: ParseOptions): RuleSpec {
  const f = FIELDS[direction];
  const ipProtocol = parseProtocol(raw);
  const portRangeText = value(raw, 'PortRange');
  const portRangeListId = value(raw, 'PortRangeListId');
  let portRange = '';
  if (portRangeText !== '') {
    portRange = parsePortRange(portRangeText, ipProtocol, 'PortRange');
  } else if (portRangeListId === '') {
    throw missingParameter('PortRange');
  }
  const sourcePortText = value(raw, 'SourcePortRange');
  const sourcePortRange = sourcePortText === '' ? '' : parsePortRange(sourcePortText, ipProtocol, 'SourcePortRange');
  const policy = parsePolicy(raw);
  const priority = parsePriority(raw, opts.allowSystemPriority);
  const description = parseDescription(raw);
  const peer = parsePeer(raw, direction, group, state, opts);
  const nicType = parseNicType(raw, group, peer, f);
  const localText = value(raw, f.localCidr);
  const localIpv6Text = value(raw, f.localIpv6);
  const localCidrIp = localText === '' ? '' : cidr4(localText, f.localCidr).value;
  const localIpv6CidrIp = localIpv6Text === '' ? '' : cidr6(localIpv6Text, f.localIpv6, group).value;
  if (group.type === 'enterprise' && policy === 'Drop' && opts.purpose !== 'revoke') {
    throw badRequest('InvalidGroupAuthParameter.OperationDenied', 'An enterprise (advanced) security group supports only accept rules.');
  }
  return {
    direction,
    ipProtocol,
    portRange,
    sourcePortRange,
    portRangeListId: portRange === '' ? portRangeListId : '',
    peer,
    localCidrIp,
    localIpv6CidrIp,
    policy,
    priority,
    nicType,
    description,
  };
}

/** The stored rule back in wire names, as the base a Modify overlays its fields on. */
export function ruleToRaw(rule: StoredRule): Record<string, string> {
  const f = FIELDS[rule.direction];
  const raw: Record<string, string> = {
    IpProtocol: rule.ipProtocol,
    PortRange: rule.portRange,
    SourcePortRange: rule.sourcePortRange,
    PortRangeListId: rule.portRangeListId,
    Policy: rule.policy.toLowerCase(),
    Priority: String(rule.priority),
    NicType: rule.nicType,
    Description: rule.description,
    [f.localCidr]: rule.localCidrIp,
    [f.localIpv6]: rule.localIpv6CidrIp,
  };
  const peer = rule.peer;
  switch (peer.kind) {
    case 'cidr4':
      raw[f.cidr] = peer.value;
      break;
    case 'cidr6':
      raw[f.ipv6] = peer.value;
      break;
    case 'group':
      raw[f.group] = peer.groupId;
      raw[f.ownerAccount] = peer.ownerAccount;
      break;
    case 'prefixList':
      raw[f.prefixList] = peer.id;
      break;
  }
  return raw;
}

/** Prefixes an entry's error message with its position, keeping code and status. */
export function inEntry(err: unknown, label: string): unknown {
  if (err instanceof EcsApiError) return new EcsApiError(err.status, err.code, `${label}: ${err.message}`, { ...err.headers });
  return err;
}
