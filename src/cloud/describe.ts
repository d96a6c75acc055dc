// Reads both groups: DescribeSecurityGroups for metadata (type, VPC), DescribeSecurityGroupAttribute for the rules,
// following NextToken to the end (never assuming one page) and, for classic groups, once per NicType since ECS serves
// one NicType per call.

import { parsePermission } from '../rules/rule.ts';
import type { NetworkType, Rule } from '../rules/rule.ts';
import type { GroupSnapshot, GroupType, UnreadableRule } from '../plan/types.ts';
import { CloudError } from './errors.ts';
import type { EcsGateway, GroupMetadata } from './gateway.ts';
import { withRetries } from './retry.ts';
import type { RetryHooks, RetryPolicy } from './retry.ts';

export interface DescribeOptions {
  /** DSGA MaxResults (10–1000). Fewer, larger pages mean fewer calls. */
  readonly pageSize?: number;
  readonly retryPolicy?: RetryPolicy;
  readonly retryHooks?: RetryHooks;
  /** Counts every describe call made (for benchmarks and the call-efficiency report). */
  readonly onCall?: (action: string) => void;
  /** Awaited before every cloud call: the operator's per-credential token bucket. */
  readonly beforeCall?: () => Promise<void>;
}

const MAX_PAGES = 10_000;

/** Both groups of a restore; a group that does not exist in the region is `undefined`. */
export async function describeGroups(
  gateway: EcsGateway,
  regionId: string,
  groupIds: readonly string[],
  options: DescribeOptions = {},
): Promise<Map<string, GroupSnapshot>> {
  const retry = <T>(action: string, call: () => Promise<T>) => {
    return withRetries(
      action,
      async () => {
        await options.beforeCall?.();
        options.onCall?.(action);
        return call();
      },
      options.retryPolicy,
      options.retryHooks,
    );
  };
  const metadata = await retry('DescribeSecurityGroups', () => gateway.describeGroups(regionId, groupIds));
  const snapshots = new Map<string, GroupSnapshot>();
  for (const meta of metadata) {
    if (!groupIds.includes(meta.groupId)) continue;
    const snapshot = await describeRules(gateway, regionId, meta, retry, options.pageSize ?? 1000);
    if (snapshot) snapshots.set(meta.groupId, snapshot);
  }
  return snapshots;
}

async function describeRules(
  gateway: EcsGateway,
  regionId: string,
  meta: GroupMetadata,
  retry: <T>(action: string, call: () => Promise<T>) => Promise<T>,
  pageSize: number,
): Promise<GroupSnapshot | undefined> {
  const networkType: NetworkType = meta.vpcId ? 'vpc' : 'classic';
  const rules: Rule[] = [];
  const unreadableRules: UnreadableRule[] = [];
  const nicTypes = networkType === 'classic' ? (['internet', 'intranet'] as const) : ([undefined] as const);
  const seenRuleIds = new Set<string>();
  for (const nicType of nicTypes) {
    let nextToken: string | undefined;
    const seenTokens = new Set<string>();
    for (let page = 0; ; page++) {
      if (page >= MAX_PAGES) throw new CloudError({ action: 'DescribeSecurityGroupAttribute', code: 'TooManyPages', kind: 'fatal', message: `group ${meta.groupId} has more than ${MAX_PAGES} pages of rules` });
      let response;
      try {
        response = await retry('DescribeSecurityGroupAttribute', () =>
          gateway.describeRulesPage({ regionId, groupId: meta.groupId, maxResults: pageSize, ...(nicType && { nicType }), ...(nextToken !== undefined && { nextToken }) }),
        );
      } catch (error) {
        // Deleted between the two calls: the same as never found.
        if (error instanceof CloudError && error.code === 'InvalidSecurityGroupId.NotFound') return undefined;
        throw error;
      }
      for (const permission of response.permissions) {
        const parsed = parsePermission(permission, { networkType });
        if (!parsed.ok) {
          unreadableRules.push({ ...(permission.securityGroupRuleId ? { ruleId: permission.securityGroupRuleId } : {}), reason: parsed.reason });
          continue;
        }
        // A rule served twice (pages shifting under a concurrent change) is counted once.
        if (parsed.rule.ruleId !== undefined) {
          if (seenRuleIds.has(parsed.rule.ruleId)) continue;
          seenRuleIds.add(parsed.rule.ruleId);
        }
        rules.push(parsed.rule);
      }
      nextToken = response.nextToken;
      if (nextToken === undefined) break;
      if (seenTokens.has(nextToken)) {
        throw new CloudError({ action: 'DescribeSecurityGroupAttribute', code: 'RepeatedNextToken', kind: 'fatal', message: `ECS returned the page token ${nextToken} twice for group ${meta.groupId}` });
      }
      seenTokens.add(nextToken);
    }
  }
  const groupType: GroupType = meta.groupType === 'enterprise' ? 'enterprise' : 'normal';
  return {
    regionId,
    groupId: meta.groupId,
    ...(meta.name !== undefined && { name: meta.name }),
    groupType,
    networkType,
    ...(meta.vpcId !== undefined && { vpcId: meta.vpcId }),
    rules,
    unreadableRules,
  };
}
