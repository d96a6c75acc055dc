// The ECS actions the emulator serves: decoded parameters in, a JSON body out (or an EcsApiError).
import type { EcsApiError } from './errors.ts';
import { badRequest, forbidden, missingParameter, notFound } from './errors.ts';
import { entryFieldNames, FIELDS, inEntry, parseRuleSpec, peerKindOf, ruleToRaw, SYSTEM_PRIORITY } from './permissions.ts';
import type { RawEntry } from './permissions.ts';
import { identityKey, isClassic } from './state.ts';
import type { EmulatorState, RuleSpec, StoredGroup, StoredRule } from './state.ts';
import type { Direction, EmulatorLimits } from './types.ts';

export interface ServiceConfig {
  readonly pageCap: number | undefined;
  readonly identityIncludesPriority: boolean;
  readonly lastPageToken: 'empty' | 'absent';
  readonly limits: EmulatorLimits;
}

export interface ActionContext {
  readonly state: EmulatorState;
  readonly params: Readonly<Record<string, string>>;
  readonly config: ServiceConfig;
  readonly requestId: string;
  readonly now: Date;
}

export interface ActionOutcome {
  readonly body: Record<string, unknown>;
  /** The call changed some group's rules. */
  readonly changed: boolean;
}

export interface ActionSpec {
  readonly mutating: boolean;
  readonly handle: (ctx: ActionContext) => ActionOutcome;
}

const MAX_ENTRIES = 100;

function param(ctx: ActionContext, name: string): string {
  return (ctx.params[name] ?? '').trim();
}

function requireRegion(ctx: ActionContext): string {
  const regionId = param(ctx, 'RegionId');
  if (regionId === '') throw missingParameter('RegionId');
  return regionId;
}

function checkGroupIdFormat(id: string): void {
  if (!/^sg-[A-Za-z0-9_-]+$/.test(id)) {
    throw badRequest('InvalidSecurityGroupId.Malformed', `The specified SecurityGroupId "${id}" is malformed.`);
  }
}

function requireGroup(ctx: ActionContext): StoredGroup {
  const regionId = requireRegion(ctx);
  const id = param(ctx, 'SecurityGroupId');
  if (id === '') throw missingParameter('SecurityGroupId');
  checkGroupIdFormat(id);
  const group = ctx.state.findGroup(regionId, id);
  if (!group) throw notFound('InvalidSecurityGroupId.NotFound', 'The specified SecurityGroupId does not exist.');
  return group;
}

function encodeToken(payload: unknown): string {
  return Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
}

function decodeToken(token: string): unknown {
  try {
    return JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

function invalidNextToken(): EcsApiError {
  return badRequest('InValidParameter.NextToken', 'The specified NextToken is not valid.');
}

function intParam(ctx: ActionContext, name: string, fallback: number, min: number, max: number, code: string): number {
  const text = param(ctx, name);
  if (text === '') return fallback;
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw badRequest(code, `The specified ${name} "${text}" is not valid; valid values: ${min}-${max}.`);
  }
  return n;
}

// ---------- DescribeSecurityGroups ----------

function describeSecurityGroups(ctx: ActionContext): ActionOutcome {
  const regionId = requireRegion(ctx);
  let groups = ctx.state.groupsInRegion(regionId);

  const id = param(ctx, 'SecurityGroupId');
  if (id !== '') groups = groups.filter((g) => g.id === id);
  const idsText = param(ctx, 'SecurityGroupIds');
  if (idsText !== '') {
    let ids: unknown;
    try {
      ids = JSON.parse(idsText) as unknown;
    } catch {
      ids = undefined;
    }
    if (!Array.isArray(ids) || ids.length > 100 || !ids.every((x) => typeof x === 'string')) {
      throw badRequest('InvalidSecurityGroupId.Malformed', 'SecurityGroupIds must be a JSON array of at most 100 security group ids, e.g. ["sg-1","sg-2"].');
    }
    const wanted = new Set<string>(ids as string[]);
    groups = groups.filter((g) => wanted.has(g.id));
  }
  const vpcId = param(ctx, 'VpcId');
  if (vpcId !== '') groups = groups.filter((g) => g.vpcId === vpcId);
  const type = param(ctx, 'SecurityGroupType');
  if (type !== '') {
    if (type !== 'normal' && type !== 'enterprise') {
      throw badRequest('InvalidParameter.SecurityGroupType', `The specified SecurityGroupType "${type}" is not valid; valid values: normal, enterprise.`);
    }
    groups = groups.filter((g) => g.type === type);
  }
  const networkType = param(ctx, 'NetworkType');
  if (networkType !== '') {
    if (networkType !== 'vpc' && networkType !== 'classic') {
      throw badRequest('InvalidNetworkType.ValueNotSupported', `The specified NetworkType "${networkType}" is not valid; valid values: vpc, classic.`);
    }
    groups = groups.filter((g) => isClassic(g) === (networkType === 'classic'));
  }
  const name = param(ctx, 'SecurityGroupName');
  if (name !== '') groups = groups.filter((g) => g.name === name);
  const resourceGroupId = param(ctx, 'ResourceGroupId');
  if (resourceGroupId !== '') groups = groups.filter((g) => g.resourceGroupId === resourceGroupId);
  for (let n = 1; n <= 20; n++) {
    const key = param(ctx, `Tag.${n}.Key`);
    if (key === '') continue;
    const val = ctx.params[`Tag.${n}.Value`];
    groups = groups.filter((g) => key in g.tags && (val === undefined || g.tags[key] === val));
  }

  const tokenMode = param(ctx, 'MaxResults') !== '' || param(ctx, 'NextToken') !== '';
  const pageMode = param(ctx, 'PageNumber') !== '' || param(ctx, 'PageSize') !== '';
  if (tokenMode && pageMode) {
    throw badRequest('NotSupported.PageNumberAndPageSize', 'PageNumber/PageSize cannot be used together with MaxResults/NextToken.');
  }
  const body: Record<string, unknown> = { RequestId: ctx.requestId, RegionId: regionId };
  let page: StoredGroup[];
  if (pageMode) {
    const pageNumber = intParam(ctx, 'PageNumber', 1, 1, 1_000_000, 'InvalidParameter.PageNumber');
    const pageSize = intParam(ctx, 'PageSize', 10, 1, 50, 'InvalidParameter.PageSize');
    page = groups.slice((pageNumber - 1) * pageSize, pageNumber * pageSize);
    Object.assign(body, { TotalCount: groups.length, PageNumber: pageNumber, PageSize: pageSize });
  } else {
    const maxResults = intParam(ctx, 'MaxResults', 10, 1, 100, 'InvalidParameter.MaxResults');
    let start = 0;
    const token = param(ctx, 'NextToken');
    if (token !== '') {
      const decoded = decodeToken(token) as { r?: unknown; after?: unknown } | undefined;
      if (!decoded || decoded.r !== regionId || typeof decoded.after !== 'number') throw invalidNextToken();
      start = decoded.after;
    }
    page = groups.slice(start, start + maxResults);
    const next = start + page.length;
    body['NextToken'] = next < groups.length ? encodeToken({ r: regionId, after: next }) : '';
    if (!tokenMode) Object.assign(body, { TotalCount: groups.length, PageNumber: 1, PageSize: maxResults });
  }
  body['SecurityGroups'] = {
    SecurityGroup: page.map((g) => ({
      SecurityGroupId: g.id,
      SecurityGroupName: g.name,
      Description: g.description,
      SecurityGroupType: g.type,
      VpcId: g.vpcId,
      CreationTime: g.creationTime,
      ResourceGroupId: g.resourceGroupId,
      ServiceManaged: false,
      RuleCount: g.rules.length,
      GroupToGroupRuleCount: g.rules.filter((r) => r.peer.kind === 'group').length,
      Tags: { Tag: Object.entries(g.tags).map(([TagKey, TagValue]) => ({ TagKey, TagValue })) },
    })),
  };
  return { body, changed: false };
}

// ---------- DescribeSecurityGroupAttribute ----------

interface RulePageToken {
  g: string;
  d: string;
  n: string;
  s: number;
}

function describeSecurityGroupAttribute(ctx: ActionContext): ActionOutcome {
  const group = requireGroup(ctx);
  const directionText = param(ctx, 'Direction').toLowerCase() || 'all';
  if (directionText !== 'all' && directionText !== 'ingress' && directionText !== 'egress') {
    throw badRequest('InvalidParameter.Direction', `The specified Direction "${param(ctx, 'Direction')}" is not valid; valid values: ingress, egress, all.`);
  }
  const nicText = param(ctx, 'NicType').toLowerCase();
  if (nicText !== '' && nicText !== 'internet' && nicText !== 'intranet') {
    throw badRequest('InvalidNicType.ValueNotSupported', `The specified NicType "${param(ctx, 'NicType')}" is not supported; valid values: internet, intranet.`);
  }
  // Classic: one NicType per call, default internet. VPC: always intranet (internet/empty silently become intranet).
  const nicType = isClassic(group) ? nicText || 'internet' : 'intranet';
  const attribute = param(ctx, 'Attribute');
  if (attribute !== '' && attribute !== 'snapshotPolicyIds') {
    throw badRequest('InvalidParameter.AttributeNotSupported', `The specified Attribute "${attribute}" is not supported.`);
  }
  const maxResults = intParam(ctx, 'MaxResults', 500, 10, 1000, 'InvalidParameter');
  const pageSize = ctx.config.pageCap === undefined ? maxResults : Math.min(maxResults, ctx.config.pageCap);

  let afterSeq = 0;
  const token = param(ctx, 'NextToken');
  if (token !== '') {
    const decoded = decodeToken(token) as Partial<RulePageToken> | undefined;
    if (!decoded || decoded.g !== group.id || decoded.d !== directionText || decoded.n !== nicType || typeof decoded.s !== 'number') {
      throw invalidNextToken();
    }
    afterSeq = decoded.s;
  }
  const matching = group.rules
    .filter((r) => (directionText === 'all' || r.direction === directionText) && r.nicType === nicType && r.seq > afterSeq)
    .sort((a, b) => a.seq - b.seq);
  const page = matching.slice(0, pageSize);
  const last = page[page.length - 1];
  const more = matching.length > page.length && last !== undefined;

  const body: Record<string, unknown> = {
    RequestId: ctx.requestId,
    RegionId: group.regionId,
    SecurityGroupId: group.id,
    SecurityGroupName: group.name,
    Description: group.description,
    VpcId: group.vpcId,
    InnerAccessPolicy: group.innerAccessPolicy,
    Permissions: { Permission: page.map((r) => ctx.state.toPermission(group, r)) },
  };
  if (more) {
    body['NextToken'] = encodeToken({ g: group.id, d: directionText, n: nicType, s: last.seq } satisfies RulePageToken);
  } else if (ctx.config.lastPageToken === 'empty') {
    body['NextToken'] = '';
  }
  if (attribute === 'snapshotPolicyIds') body['SnapshotPolicyIds'] = { SnapshotPolicyId: [] };
  return { body, changed: false };
}

// ---------- entries of Authorize / Revoke ----------

interface Entry {
  readonly label: string;
  readonly raw: RawEntry;
}

const LEGACY_FIELDS = new Set([
  ...entryFieldNames('ingress'),
  ...entryFieldNames('egress'),
]);

/** `Permissions.N.Field` entries in N order (gaps allowed, as the SDK skips null entries), or the legacy top-level rule. */
function collectEntries(ctx: ActionContext): Entry[] {
  const byIndex = new Map<number, Record<string, string>>();
  for (const [key, val] of Object.entries(ctx.params)) {
    const m = /^Permissions\.(\d+)\.([A-Za-z0-9]+)$/.exec(key);
    if (!m) continue;
    const n = Number(m[1]);
    const field = m[2] as string;
    let entry = byIndex.get(n);
    if (!entry) {
      entry = {};
      byIndex.set(n, entry);
    }
    entry[field] = val;
  }
  const legacy: Record<string, string> = {};
  for (const [key, val] of Object.entries(ctx.params)) {
    if (LEGACY_FIELDS.has(key) && val.trim() !== '') legacy[key] = val;
  }
  if (byIndex.size > 0 && Object.keys(legacy).length > 0) {
    throw badRequest('InvalidParam.Permissions', `Permissions cannot be used together with the deprecated top-level rule parameters (${Object.keys(legacy).join(', ')}).`);
  }
  if (byIndex.size > MAX_ENTRIES) {
    throw badRequest('InvalidParameter.Permissions', `At most ${MAX_ENTRIES} Permissions may be given in one call; got ${byIndex.size}.`);
  }
  if (byIndex.size > 0) {
    return [...byIndex.entries()].sort(([a], [b]) => a - b).map(([n, raw]) => ({ label: `Permissions.${n}`, raw }));
  }
  return Object.keys(legacy).length > 0 ? [{ label: 'rule', raw: legacy }] : [];
}

function parseEntries(ctx: ActionContext, entries: readonly Entry[], direction: Direction, group: StoredGroup, purpose: 'authorize' | 'revoke'): RuleSpec[] {
  const specs: RuleSpec[] = [];
  const seen = new Set<string>();
  const classic = isClassic(group);
  for (const entry of entries) {
    let spec: RuleSpec;
    try {
      spec = parseRuleSpec(entry.raw, direction, group, ctx.state, { purpose, allowSystemPriority: purpose === 'revoke' });
    } catch (err) {
      throw inEntry(err, entry.label);
    }
    const key = identityKey(spec, classic, ctx.config.identityIncludesPriority);
    if (seen.has(key)) {
      throw badRequest('InvalidParam.DuplicatePermissions', `${entry.label} duplicates an earlier entry of the same call.`);
    }
    seen.add(key);
    specs.push(spec);
  }
  return specs;
}

function authorize(direction: Direction) {
  return (ctx: ActionContext): ActionOutcome => {
    const group = requireGroup(ctx);
    const entries = collectEntries(ctx);
    if (entries.length === 0) throw missingParameter('Permissions');
    const specs = parseEntries(ctx, entries, direction, group, 'authorize');
    const classic = isClassic(group);
    const existing = new Set(group.rules.map((r) => identityKey(r, classic, ctx.config.identityIncludesPriority)));
    // An entry equal to an existing rule is a silent no-op (current docs, ecs-api.md §3.3).
    const fresh = specs.filter((s) => !existing.has(identityKey(s, classic, ctx.config.identityIncludesPriority)));
    const { rulesPerGroup, groupReferenceRulesPerGroup } = ctx.config.limits;
    if (rulesPerGroup !== undefined && group.rules.length + fresh.length > rulesPerGroup) {
      throw forbidden('AuthorizationLimitExceed', `The number of rules in ${group.id} would exceed the limit of ${rulesPerGroup}.`);
    }
    if (groupReferenceRulesPerGroup !== undefined && group.type === 'normal') {
      const refs = group.rules.filter((r) => r.peer.kind === 'group').length + fresh.filter((s) => s.peer.kind === 'group').length;
      if (refs > groupReferenceRulesPerGroup) {
        throw badRequest('AuthorizedGroupRule.LimitExceed', `A basic security group holds at most ${groupReferenceRulesPerGroup} rules that reference security groups.`);
      }
    }
    for (const spec of fresh) group.rules.push(ctx.state.newRule(spec, ctx.now));
    return { body: { RequestId: ctx.requestId }, changed: fresh.length > 0 };
  };
}

function ruleNotFound(direction: Direction, id: string): EcsApiError {
  return direction === 'ingress'
    ? badRequest('InvalidParam.SecurityGroupRuleId', `The specified parameter SecurityGroupRuleId is not valid: "${id}" is not an inbound rule of this group.`)
    : badRequest('InvalidSecurityGroupRule.RuleNotExist', `The specified rule does not exist: "${id}" is not an outbound rule of this group.`);
}

function collectRuleIds(ctx: ActionContext): string[] {
  const byIndex: [number, string][] = [];
  for (const [key, val] of Object.entries(ctx.params)) {
    const m = /^SecurityGroupRuleId\.(\d+)$/.exec(key);
    if (m && val.trim() !== '') byIndex.push([Number(m[1]), val.trim()]);
  }
  return byIndex.sort(([a], [b]) => a - b).map(([, id]) => id);
}

function revoke(direction: Direction) {
  return (ctx: ActionContext): ActionOutcome => {
    const group = requireGroup(ctx);
    const ids = collectRuleIds(ctx);
    const entries = collectEntries(ctx);
    if (ids.length > 0 && entries.length > 0) {
      throw badRequest('InvalidParameter.Conflict', 'SecurityGroupRuleId and Permissions cannot be specified in the same call.');
    }
    if (ids.length === 0 && entries.length === 0) {
      throw badRequest('MissingParameter', 'Either SecurityGroupRuleId.N or Permissions.N must be specified.');
    }
    const before = group.rules.length;
    if (ids.length > 0) {
      if (ids.length > MAX_ENTRIES) {
        throw badRequest('InvalidParameter.SecurityGroupRuleId', `At most ${MAX_ENTRIES} SecurityGroupRuleId may be given in one call; got ${ids.length}.`);
      }
      if (new Set(ids).size !== ids.length) {
        throw badRequest('InvalidParam.SecurityGroupRuleIdRepeated', 'The specified SecurityGroupRuleId list contains duplicates.');
      }
      for (const id of ids) {
        if (!group.rules.some((r) => r.id === id && r.direction === direction)) throw ruleNotFound(direction, id);
      }
      // System (priority-110) rules can be revoked like any other: the console lets users delete them too.
      const doomed = new Set(ids);
      group.rules = group.rules.filter((r) => !doomed.has(r.id));
    } else {
      const specs = parseEntries(ctx, entries, direction, group, 'revoke');
      const classic = isClassic(group);
      const keys = new Set(specs.map((s) => identityKey(s, classic, ctx.config.identityIncludesPriority)));
      // Permissions that match nothing: documented success (ecs-api.md §3.3).
      group.rules = group.rules.filter((r) => !keys.has(identityKey(r, classic, ctx.config.identityIncludesPriority)));
    }
    return { body: { RequestId: ctx.requestId }, changed: group.rules.length !== before };
  };
}

// ---------- Modify ----------

function sameRule(a: StoredRule, b: StoredRule): boolean {
  return JSON.stringify({ ...a, seq: 0 }) === JSON.stringify({ ...b, seq: 0 });
}

function modify(direction: Direction) {
  return (ctx: ActionContext): ActionOutcome => {
    const group = requireGroup(ctx);
    const ruleId = param(ctx, 'SecurityGroupRuleId');
    if (ruleId === '') throw missingParameter('SecurityGroupRuleId');
    const index = group.rules.findIndex((r) => r.id === ruleId && r.direction === direction);
    const rule = group.rules[index];
    if (!rule) throw ruleNotFound(direction, ruleId);

    // Only given, non-empty fields change; ECS cannot blank a field.
    const given: Record<string, string> = {};
    for (const name of entryFieldNames(direction)) {
      const v = ctx.params[name];
      if (v !== undefined && v.trim() !== '') given[name] = v;
    }
    const f = FIELDS[direction];
    const newKind = peerKindOf(given, direction);
    if (newKind !== undefined && newKind !== rule.peer.kind) {
      throw badRequest(
        'InvalidParam.AuthorizationObjectType',
        `The type of the authorization object of rule ${rule.id} (${rule.peer.kind}) cannot be changed to ${newKind}; add a new rule and revoke this one instead.`,
      );
    }
    const base = ruleToRaw(rule);
    if (newKind !== undefined) {
      // The new peer replaces the old one whole (e.g. a new group id gets the default owner account).
      for (const name of [f.cidr, f.ipv6, f.group, f.ownerAccount, f.ownerId, f.prefixList]) delete base[name];
    }
    const merged = { ...base, ...given };
    let spec: RuleSpec;
    try {
      spec = parseRuleSpec(merged, direction, group, ctx.state, {
        purpose: 'modify',
        allowSystemPriority: given['Priority'] === undefined && rule.priority === SYSTEM_PRIORITY,
      });
    } catch (err) {
      throw inEntry(err, rule.id);
    }
    const classic = isClassic(group);
    const key = identityKey(spec, classic, ctx.config.identityIncludesPriority);
    const clash = group.rules.find((r) => r.id !== rule.id && identityKey(r, classic, ctx.config.identityIncludesPriority) === key);
    if (clash) {
      throw badRequest('InvalidParam.DuplicatePermissions', `The modified rule would be the same as the existing rule ${clash.id}.`);
    }
    const updated: StoredRule = { ...spec, seq: rule.seq, id: rule.id, createTime: rule.createTime };
    group.rules[index] = updated;
    return { body: { RequestId: ctx.requestId }, changed: !sameRule(rule, updated) };
  };
}

export const ACTIONS: Readonly<Record<string, ActionSpec>> = {
  DescribeSecurityGroups: { mutating: false, handle: describeSecurityGroups },
  DescribeSecurityGroupAttribute: { mutating: false, handle: describeSecurityGroupAttribute },
  AuthorizeSecurityGroup: { mutating: true, handle: authorize('ingress') },
  AuthorizeSecurityGroupEgress: { mutating: true, handle: authorize('egress') },
  RevokeSecurityGroup: { mutating: true, handle: revoke('ingress') },
  RevokeSecurityGroupEgress: { mutating: true, handle: revoke('egress') },
  ModifySecurityGroupRule: { mutating: true, handle: modify('ingress') },
  ModifySecurityGroupEgressRule: { mutating: true, handle: modify('egress') },
};

export function isMutatingAction(action: string): boolean {
  return ACTIONS[action]?.mutating ?? /^(Authorize|Revoke|Modify)/.test(action);
}
