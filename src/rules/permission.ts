// Rule → the fields of an ECS `Permissions.N` entry (Authorize*) or of a Modify*Rule request, named as the SDK
// request models name them. The inverse of parsePermission.

import type { Rule } from './rule.ts';

export interface PermissionRequestFields {
  ipProtocol: string;
  portRange: string;
  portRangeListId?: string;
  sourcePortRange?: string;
  sourceCidrIp?: string;
  destCidrIp?: string;
  ipv6SourceCidrIp?: string;
  ipv6DestCidrIp?: string;
  sourceGroupId?: string;
  destGroupId?: string;
  sourceGroupOwnerId?: number;
  sourceGroupOwnerAccount?: string;
  destGroupOwnerId?: number;
  destGroupOwnerAccount?: string;
  sourcePrefixListId?: string;
  destPrefixListId?: string;
  policy: string;
  priority: string;
  nicType: string;
  description?: string;
}

/** Fields for AuthorizeSecurityGroup[Egress] `Permissions.N`. */
export function toPermissionRequest(rule: Rule): PermissionRequestFields {
  const ingress = rule.direction === 'ingress';
  const out: PermissionRequestFields = {
    ipProtocol: rule.protocol,
    portRange: rule.portRange,
    policy: rule.policy,
    priority: String(rule.priority),
    nicType: rule.nicType,
  };
  if (rule.portRangeListId !== undefined) out.portRangeListId = rule.portRangeListId;
  if (rule.sourcePortRange !== undefined) out.sourcePortRange = rule.sourcePortRange;
  if (rule.description !== undefined) out.description = rule.description;
  if (rule.localCidr !== undefined) {
    if (ingress) out.destCidrIp = rule.localCidr;
    else out.sourceCidrIp = rule.localCidr;
  }
  const peer = rule.peer;
  switch (peer.kind) {
    case 'ipv4':
      if (ingress) out.sourceCidrIp = peer.cidr;
      else out.destCidrIp = peer.cidr;
      break;
    case 'ipv6':
      if (ingress) out.ipv6SourceCidrIp = peer.cidr;
      else out.ipv6DestCidrIp = peer.cidr;
      break;
    case 'group': {
      // ECS returns the owner's account *id* in …GroupOwnerAccount; requests take it as the numeric …GroupOwnerId.
      const owner = peer.ownerAccount;
      const numeric = owner !== undefined && /^[0-9]+$/.test(owner);
      if (ingress) {
        out.sourceGroupId = peer.groupId;
        if (numeric) out.sourceGroupOwnerId = Number(owner);
        else if (owner !== undefined) out.sourceGroupOwnerAccount = owner;
      } else {
        out.destGroupId = peer.groupId;
        if (numeric) out.destGroupOwnerId = Number(owner);
        else if (owner !== undefined) out.destGroupOwnerAccount = owner;
      }
      break;
    }
    case 'prefixList':
      if (ingress) out.sourcePrefixListId = peer.prefixListId;
      else out.destPrefixListId = peer.prefixListId;
      break;
  }
  return out;
}

/**
 * Fields for Modify*Rule on an existing rule (addressed by its id). The identity fields are sent unchanged, as
 * ECS's older Modify contract requires them; the request models have no IPv6 fields, and ECS keeps a rule's
 * peer type anyway. A field left out is kept as it is: ECS cannot blank one in place.
 */
export function toModifyFields(wanted: Rule): Omit<PermissionRequestFields, 'ipv6SourceCidrIp' | 'ipv6DestCidrIp'> {
  const { ipv6SourceCidrIp: _v6s, ipv6DestCidrIp: _v6d, ...rest } = toPermissionRequest(wanted);
  return rest;
}
