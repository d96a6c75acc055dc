// An in-memory EcsGateway for unit and property tests of apply ordering: ECS's documented semantics (an authorize of
// an existing rule is a no-op, revoke and modify address rule ids) under either identity reading, with a snapshot of
// the group after every mutating call. Integration tests use the real SDK against the HTTP emulator instead.

import type { EcsGateway, GroupMetadata, MutationResult, RulesPage } from '../../../src/cloud/gateway.ts';
import { ruleKey } from '../../../src/rules/identity.ts';
import { parsePermission } from '../../../src/rules/rule.ts';
import type { Rule } from '../../../src/rules/rule.ts';
import { toPermissionRequest } from '../../../src/rules/permission.ts';
import { CloudError } from '../../../src/cloud/errors.ts';

export interface MemoryEcsOptions {
  readonly identityIncludesPriority: boolean;
  /** Rules matching this are refused by Authorize (the whole call fails, as ECS does). */
  readonly refuse?: (rule: Rule) => boolean;
}

export class MemoryEcs implements EcsGateway {
  readonly groups = new Map<string, Rule[]>();
  readonly history: { action: string; rules: Rule[] }[] = [];
  private nextId = 1;
  private readonly options: MemoryEcsOptions;

  constructor(options: MemoryEcsOptions) {
    this.options = options;
  }

  private identity(rule: Rule): string {
    return this.options.identityIncludesPriority ? `${ruleKey(rule)}|${rule.priority}` : ruleKey(rule);
  }

  seed(groupId: string, rules: readonly Rule[]): void {
    this.groups.set(groupId, rules.map((r) => ({ ...r, ruleId: r.ruleId ?? `sgr-${this.nextId++}` })));
  }

  rules(groupId: string): Rule[] {
    return [...(this.groups.get(groupId) ?? [])];
  }

  private record(action: string, groupId: string): void {
    this.history.push({ action, rules: this.rules(groupId) });
  }

  async describeGroups(_regionId: string, groupIds: readonly string[]): Promise<GroupMetadata[]> {
    return groupIds.filter((id) => this.groups.has(id)).map((groupId) => ({ groupId, groupType: 'normal', vpcId: 'vpc-1' }));
  }

  async describeRulesPage(args: { groupId: string }): Promise<RulesPage> {
    return { permissions: this.rules(args.groupId).map((r) => ({ ...toPermissionRequest(r), securityGroupRuleId: r.ruleId ?? '', direction: r.direction, sourceGroupOwnerAccount: undefined, destGroupOwnerAccount: undefined, priority: String(r.priority) })) };
  }

  async authorize(args: Parameters<EcsGateway['authorize']>[0]): Promise<MutationResult> {
    const incoming: Rule[] = [];
    for (const p of args.permissions) {
      // Requests name the owner by numeric …GroupOwnerId; ECS answers with it in …GroupOwnerAccount.
      const owners = { sourceGroupOwnerAccount: p.sourceGroupOwnerAccount ?? p.sourceGroupOwnerId, destGroupOwnerAccount: p.destGroupOwnerAccount ?? p.destGroupOwnerId };
      const parsed = parsePermission({ ...p, ...owners, direction: args.direction }, { networkType: 'vpc' });
      if (!parsed.ok) throw new CloudError({ action: 'Authorize', code: 'InvalidParameter', kind: 'rejected', statusCode: 400, message: parsed.reason });
      if (this.options.refuse?.(parsed.rule)) throw new CloudError({ action: 'Authorize', code: 'InvalidParameter', kind: 'rejected', statusCode: 400, message: 'refused' });
      incoming.push(parsed.rule);
    }
    const rules = this.groups.get(args.groupId) ?? [];
    for (const rule of incoming) {
      if (rules.some((r) => this.identity(r) === this.identity(rule))) continue; // documented: success, nothing added
      rules.push({ ...rule, ruleId: `sgr-${this.nextId++}` });
    }
    this.groups.set(args.groupId, rules);
    this.record('Authorize', args.groupId);
    return { requestId: `req-${this.history.length}` };
  }

  async revokeByIds(args: Parameters<EcsGateway['revokeByIds']>[0]): Promise<MutationResult> {
    const rules = this.groups.get(args.groupId) ?? [];
    for (const id of args.ruleIds) {
      if (!rules.some((r) => r.ruleId === id)) throw new CloudError({ action: 'Revoke', code: 'InvalidParam.SecurityGroupRuleId', kind: 'rejected', statusCode: 400, message: `no rule ${id}` });
    }
    this.groups.set(args.groupId, rules.filter((r) => !args.ruleIds.includes(r.ruleId ?? '')));
    this.record('Revoke', args.groupId);
    return { requestId: `req-${this.history.length}` };
  }

  async modify(args: Parameters<EcsGateway['modify']>[0]): Promise<MutationResult> {
    const rules = this.groups.get(args.groupId) ?? [];
    const i = rules.findIndex((r) => r.ruleId === args.ruleId);
    const existing = rules[i];
    if (!existing) throw new CloudError({ action: 'Modify', code: 'InvalidParam.SecurityGroupRuleId', kind: 'rejected', statusCode: 400, message: `no rule ${args.ruleId}` });
    const next: Rule = { ...existing, priority: Number(args.fields.priority), ...(args.fields.description !== undefined && { description: args.fields.description }) };
    if (rules.some((r, j) => j !== i && this.identity(r) === this.identity(next))) {
      throw new CloudError({ action: 'Modify', code: 'InvalidParam.DuplicatePermissions', kind: 'rejected', statusCode: 400, message: 'duplicate' });
    }
    rules[i] = next;
    this.record('Modify', args.groupId);
    return { requestId: `req-${this.history.length}` };
  }
}
