// Public types of the ECS emulator. Shapes follow ../shared/reference/ecs-api.md (DSGA §1, DSG §2, Authorize/Revoke §3).

export interface EmulatorCredential {
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  /** When set, requests with this key must carry the same `x-acs-security-token` (STS). */
  readonly securityToken?: string;
}

export interface FaultOptions {
  /** Delay before every response (the request is processed after the delay). */
  latencyMs?: number;
  /** Every Nth mutating call (Authorize*, Revoke*, Modify*) → 400 Throttling.User with `x-acs-retry-after`. */
  throttleEveryNthMutating?: number;
  /** Every Nth call of any action → 503 ServiceUnavailable. */
  errorEveryNthCall?: number;
  /** Every Nth call: the socket is destroyed without an answer (nothing is applied). */
  dropEveryNthCall?: number;
  /** Every Nth mutating call: the change is applied, then the socket is destroyed (a lost response). */
  applyThenDropEveryNthMutating?: number;
  /** Probability (0..1) of a 503 ServiceUnavailable on any call; seeded PRNG. */
  errorRate?: number;
  /** Probability (0..1) of dropping the connection on any call; seeded PRNG. */
  dropRate?: number;
  /** Token bucket over all calls (burst = one second's worth); beyond it 400 Throttling.User. */
  rateLimitPerSecond?: number;
  /** Seed of the PRNG behind errorRate/dropRate (default 1). */
  randomSeed?: number;
  /** Value of `x-acs-retry-after` (ms) on injected throttling (default 50). */
  retryAfterMs?: number;
}

export interface EmulatorLimits {
  /** Rules (both directions) per group; beyond it 403 AuthorizationLimitExceed. Default: unlimited. */
  rulesPerGroup?: number;
  /** Rules referencing a group, per basic group; beyond it 400 AuthorizedGroupRule.LimitExceed. Default: unlimited. */
  groupReferenceRulesPerGroup?: number;
}

export interface EmulatorOptions {
  credentials?: ReadonlyArray<EmulatorCredential>;
  /** Owner account id of all groups (default '1234567890'). */
  accountId?: string;
  /** DescribeSecurityGroupAttribute serves at most this many rules per page, whatever MaxResults asks. */
  pageCap?: number;
  /** Rule identity with (true) or without (false, default) Priority. */
  identityIncludesPriority?: boolean;
  faults?: FaultOptions;
  /** Default 0 = a free port. */
  port?: number;
  /** Last DSGA page: `NextToken: ""` ('empty', default) or no NextToken at all ('absent'). */
  lastPageToken?: 'empty' | 'absent';
  limits?: EmulatorLimits;
  /** Called with each call record as it is logged (e.g. to print a live log). */
  onCall?: (record: CallRecord) => void;
}

export type Direction = 'ingress' | 'egress';

/** One rule exactly as DescribeSecurityGroupAttribute returns it (Permissions.Permission[]). */
export interface EmulatedPermission {
  SecurityGroupRuleId: string;
  Direction: Direction;
  IpProtocol: string;
  PortRange: string;
  SourcePortRange: string;
  SourceCidrIp: string;
  DestCidrIp: string;
  Ipv6SourceCidrIp: string;
  Ipv6DestCidrIp: string;
  SourceGroupId: string;
  SourceGroupName: string;
  SourceGroupOwnerAccount: string;
  DestGroupId: string;
  DestGroupName: string;
  DestGroupOwnerAccount: string;
  SourcePrefixListId: string;
  SourcePrefixListName: string;
  DestPrefixListId: string;
  DestPrefixListName: string;
  PortRangeListId: string;
  PortRangeListName: string;
  Policy: 'Accept' | 'Drop';
  Priority: number;
  NicType: 'internet' | 'intranet';
  Description: string;
  CreateTime: string;
}

export type GroupType = 'normal' | 'enterprise';

export interface EmulatedGroup {
  regionId: string;
  id: string;
  name: string;
  description: string;
  type: GroupType;
  /** '' for a classic-network group. */
  vpcId: string;
  innerAccessPolicy: 'Accept' | 'Drop';
  creationTime: string;
  resourceGroupId: string;
  tags: Record<string, string>;
  /** Both directions, in the order DSGA returns them (creation order). */
  rules: EmulatedPermission[];
}

export type FaultKind = 'throttle' | 'rateLimit' | 'error' | 'drop' | 'applyThenDrop';

export interface CallRecord {
  seq: number;
  time: string;
  action: string;
  /** Decoded request parameters (V3: the query; V2: business parameters only, never Signature/SecurityToken). */
  params: Record<string, string>;
  /** HTTP status sent; 0 when the connection was dropped without an answer. */
  status: number;
  code?: string;
  requestId: string;
  accessKeyId?: string;
  clientToken?: string;
  mutating: boolean;
  /** The service executed the call (false for rejected, faulted and ClientToken replays). */
  applied: boolean;
  /** The call changed the group's rules. */
  changed: boolean;
  /** ClientToken replay of an earlier successful call. */
  replay?: boolean;
  fault?: FaultKind;
  /** For mutating calls on an existing group: the group's full rule list (both directions) after the call. */
  rulesAfter?: Record<string, EmulatedPermission[]>;
}

/** A rule in a seed: DSGA Permission fields, camelCase or PascalCase; values as strings or numbers. */
export type SeedRule = Readonly<Record<string, string | number | boolean | null | undefined>>;

export interface SeedGroup {
  id: string;
  name?: string;
  description?: string;
  type?: GroupType;
  /** Absent or empty ⇒ classic network. */
  vpcId?: string;
  innerAccessPolicy?: 'Accept' | 'Drop';
  creationTime?: string;
  resourceGroupId?: string;
  tags?: Record<string, string>;
  rules?: ReadonlyArray<SeedRule>;
}

export interface SeedPrefixList {
  id: string;
  name?: string;
}

export interface SeedRegion {
  securityGroups?: ReadonlyArray<SeedGroup>;
  /** Prefix lists known in the region (those referenced by seeded rules are known implicitly). */
  prefixLists?: ReadonlyArray<SeedPrefixList>;
}

export interface SeedState {
  accountId?: string;
  credentials?: ReadonlyArray<EmulatorCredential>;
  regions: Record<string, SeedRegion>;
}
