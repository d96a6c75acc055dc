// What makes two rules "the same rule" to ECS, what may differ between them and be fixed in place, and a one-line
// rendering for people. ECS documents a rule's identity as direction + one peer + PortRange + IpProtocol + Policy
// (ecs-api.md §3.2); older docs add NicType. Priority and Description are not part of it, so a rule that differs
// only there must be modified in place: an add would be ignored as a duplicate, and the remove after it would
// delete the only copy.

import type { Peer, Rule } from './rule.ts';

/** Stable text of a rule's identity; rules with equal keys are one rule to ECS. */
export type RuleKey = string & { readonly __brand: 'RuleKey' };

export function peerKey(peer: Peer): string {
  switch (peer.kind) {
    case 'ipv4':
    case 'ipv6':
      return `${peer.kind}:${peer.cidr}`;
    case 'group':
      return `group:${peer.groupId}@${peer.ownerAccount ?? ''}`;
    case 'prefixList':
      return `prefixList:${peer.prefixListId}`;
  }
}

export function ruleKey(rule: Rule): RuleKey {
  return [rule.direction, rule.nicType, rule.protocol, rule.portRange, rule.portRangeListId ?? '', peerKey(rule.peer), rule.policy].join('|') as RuleKey;
}

/** The fields outside the identity that ModifySecurityGroup[Egress]Rule can change on an existing rule. */
export interface RuleAttributes {
  readonly priority: number;
  readonly description?: string;
  readonly sourcePortRange?: string;
  readonly localCidr?: string;
}

export type AttributeComparison =
  | { readonly kind: 'equal' }
  | { readonly kind: 'modifiable'; readonly changed: readonly (keyof RuleAttributes)[] }
  /** ECS cannot blank a field in place; the rule would need a remove and re-add, which we never do automatically. */
  | { readonly kind: 'notModifiable'; readonly reason: string };

/**
 * Compares the attributes of an existing rule with the wanted ones. A description the wanted rule lacks is not a
 * difference: ECS cannot clear a description in place, and a remove + add to clear it would risk the rule.
 */
export function compareAttributes(existing: Rule, wanted: Rule): AttributeComparison {
  const changed: (keyof RuleAttributes)[] = [];
  if (existing.priority !== wanted.priority) changed.push('priority');
  if (wanted.description !== undefined && existing.description !== wanted.description) changed.push('description');
  for (const field of ['sourcePortRange', 'localCidr'] as const) {
    if (existing[field] === wanted[field]) continue;
    if (wanted[field] === undefined) {
      return { kind: 'notModifiable', reason: `ECS cannot clear ${field === 'sourcePortRange' ? 'SourcePortRange' : 'the local CIDR'} of rule ${existing.ruleId ?? ''} in place; remove and re-add it by hand` };
    }
    changed.push(field);
  }
  return changed.length === 0 ? { kind: 'equal' } : { kind: 'modifiable', changed };
}

/** The rule's content without its id: what a plan hash and a preview are made of. */
export function canonicalRule(rule: Rule): Record<string, string | number> {
  const out: Record<string, string | number> = {
    direction: rule.direction,
    nicType: rule.nicType,
    protocol: rule.protocol,
    portRange: rule.portRange,
    peer: peerKey(rule.peer),
    policy: rule.policy,
    priority: rule.priority,
  };
  if (rule.portRangeListId !== undefined) out.portRangeListId = rule.portRangeListId;
  if (rule.sourcePortRange !== undefined) out.sourcePortRange = rule.sourcePortRange;
  if (rule.localCidr !== undefined) out.localCidr = rule.localCidr;
  if (rule.description !== undefined) out.description = rule.description;
  return out;
}

export function renderPeer(peer: Peer): string {
  switch (peer.kind) {
    case 'ipv4':
    case 'ipv6':
      return peer.cidr;
    case 'group':
      return peer.ownerAccount ? `${peer.groupId} (account ${peer.ownerAccount})` : peer.groupId;
    case 'prefixList':
      return peer.prefixListId;
  }
}

/** `ingress accept TCP 22/22 from 10.0.0.0/8 priority 1 "ssh"` — one line for logs, tables and status. */
export function renderRule(rule: Rule): string {
  const ports = rule.portRangeListId ? `ports ${rule.portRangeListId}` : rule.portRange;
  const towards = rule.direction === 'ingress' ? 'from' : 'to';
  const parts = [rule.direction, rule.policy, rule.protocol, ports, towards, renderPeer(rule.peer)];
  if (rule.sourcePortRange) parts.push(`source-ports ${rule.sourcePortRange}`);
  if (rule.localCidr) parts.push(rule.direction === 'ingress' ? `to ${rule.localCidr}` : `from ${rule.localCidr}`);
  if (rule.nicType === 'internet') parts.push('nic internet');
  parts.push(`priority ${rule.priority}`);
  if (rule.description) parts.push(JSON.stringify(rule.description));
  return parts.join(' ');
}
