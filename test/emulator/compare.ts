// Comparing groups as a restore sees them: a group's user rules as text, without rule ids, creation times, peer
// names and priority-110 system rules. Used by the integration tests and the benchmarks.

import type { EmulatedPermission } from './types.ts';

/** Sorted comparable text of each user rule; `renameSelf` maps a group id in peers (a backup's self-reference). */
export function userRuleContent(rules: readonly EmulatedPermission[], renameSelf?: readonly [from: string, to: string]): string[] {
  return rules
    .filter((r) => r.Priority !== 110)
    .map((r) => {
      const { SecurityGroupRuleId: _id, CreateTime: _t, SourceGroupName: _sn, DestGroupName: _dn, ...rest } = r;
      if (renameSelf) {
        if (rest.SourceGroupId === renameSelf[0]) rest.SourceGroupId = renameSelf[1];
        if (rest.DestGroupId === renameSelf[0]) rest.DestGroupId = renameSelf[1];
      }
      return JSON.stringify(rest);
    })
    .sort();
}
