// The ECS gateway: the only code that calls the SDK. Everything above it (describe, apply) speaks `EcsGateway`, a
// small interface of the six calls a restore needs, so retries and batch splitting are testable at a seam, while
// integration tests drive this real implementation over HTTP against the emulator.

import EcsModule, * as $Ecs from '@alicloud/ecs20140526';
import { $OpenApiUtil } from '@alicloud/openapi-core';
import * as $dara from '@darabonba/typescript';
import CredentialModule, { Config as CredentialConfig } from '@alicloud/credentials';
import type { Direction } from '../rules/rule.ts';
import type { PermissionFields } from '../rules/rule.ts';
import type { PermissionRequestFields } from '../rules/permission.ts';
import { toCloudError } from './errors.ts';

export interface GroupMetadata {
  readonly groupId: string;
  readonly name?: string;
  readonly description?: string;
  readonly groupType: string;
  readonly vpcId?: string;
}

export interface RulesPage {
  readonly permissions: readonly PermissionFields[];
  readonly nextToken?: string;
  readonly requestId?: string;
}

export interface MutationResult {
  readonly requestId?: string;
}

export interface EcsGateway {
  describeGroups(regionId: string, groupIds: readonly string[]): Promise<GroupMetadata[]>;
  describeRulesPage(args: { regionId: string; groupId: string; nicType?: 'internet' | 'intranet'; nextToken?: string; maxResults: number }): Promise<RulesPage>;
  authorize(args: { regionId: string; groupId: string; direction: Direction; permissions: readonly PermissionRequestFields[]; clientToken: string }): Promise<MutationResult>;
  revokeByIds(args: { regionId: string; groupId: string; direction: Direction; ruleIds: readonly string[]; clientToken: string }): Promise<MutationResult>;
  modify(args: { regionId: string; groupId: string; direction: Direction; ruleId: string; fields: Omit<PermissionRequestFields, 'ipv6SourceCidrIp' | 'ipv6DestCidrIp'>; clientToken: string }): Promise<MutationResult>;
}

export interface StaticCredentials {
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  readonly securityToken?: string;
}

export interface ClientOptions {
  /** Region the client signs for; only used to derive the default endpoint. */
  readonly regionId: string;
  /** `http(s)://host[:port]` overriding the regional ECS endpoint (flag --endpoint or env SGRESTORE_ECS_ENDPOINT). */
  readonly endpoint?: string;
  /** Explicit keys; without them the default credential chain of @alicloud/credentials is used. */
  readonly credentials?: StaticCredentials;
  /**
   * Per-call timeout. The SDK's 3 s default is too short for a large group's describe pages; httpx also uses the
   * connect timeout as the socket idle timeout, so both are set.
   */
  readonly timeoutMs?: number;
}

export const DEFAULT_TIMEOUT_MS = 30_000;

/** Splits `http://127.0.0.1:18080` into what the SDK wants: an endpoint without scheme, and a protocol. */
export function parseEndpoint(url: string): { endpoint: string; protocol: 'http' | 'https' } {
  let parsed: URL;
  try {
    parsed = new URL(url.includes('://') ? url : `https://${url}`);
  } catch {
    throw new Error(`ECS endpoint "${url}" is not a URL such as https://ecs.cn-hangzhou.aliyuncs.com or http://127.0.0.1:18080`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new Error(`ECS endpoint "${url}" must use http or https`);
  }
  if (parsed.pathname !== '/' || parsed.search || parsed.username) {
    throw new Error(`ECS endpoint "${url}" must be only a scheme, host and port`);
  }
  return { endpoint: parsed.host, protocol: parsed.protocol === 'http:' ? 'http' : 'https' };
}

// The packages are CommonJS with `exports.default = Class`; under Node's ESM loader the default import is the
// whole exports object.
const EcsClient = EcsModule.default;
const Credential = CredentialModule.default;

export function createEcsGateway(options: ClientOptions): EcsGateway {
  const timeout = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const config = new $OpenApiUtil.Config({
    regionId: options.regionId,
    readTimeout: timeout,
    connectTimeout: timeout,
    userAgent: 'sgrestore',
  });
  if (options.endpoint) {
    const { endpoint, protocol } = parseEndpoint(options.endpoint);
    config.endpoint = endpoint;
    config.protocol = protocol;
  }
  if (options.credentials) {
    config.credential = new Credential(
      new CredentialConfig(
        options.credentials.securityToken
          ? { type: 'sts', accessKeyId: options.credentials.accessKeyId, accessKeySecret: options.credentials.accessKeySecret, securityToken: options.credentials.securityToken }
          : { type: 'access_key', accessKeyId: options.credentials.accessKeyId, accessKeySecret: options.credentials.accessKeySecret },
      ),
    );
  } else {
    // Env keys, RRSA (OIDC), CLI and INI profiles, the ECS RAM role, a credentials URI — in that order.
    config.credential = new Credential();
  }
  return new SdkEcsGateway(new EcsClient(config), timeout);
}

class SdkEcsGateway implements EcsGateway {
  private readonly client: InstanceType<typeof EcsClient>;
  private readonly runtime: $dara.RuntimeOptions;

  constructor(client: InstanceType<typeof EcsClient>, timeoutMs: number) {
    this.client = client;
    this.runtime = new $dara.RuntimeOptions({ readTimeout: timeoutMs, connectTimeout: timeoutMs });
  }

  private async call<T>(action: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw toCloudError(action, error);
    }
  }

  async describeGroups(regionId: string, groupIds: readonly string[]): Promise<GroupMetadata[]> {
    const out: GroupMetadata[] = [];
    let nextToken: string | undefined;
    const seen = new Set<string>();
    do {
      const request = new $Ecs.DescribeSecurityGroupsRequest({
        regionId,
        securityGroupIds: JSON.stringify(groupIds),
        maxResults: 100,
        ...(nextToken !== undefined && { nextToken }),
      });
      const response = await this.call('DescribeSecurityGroups', () => this.client.describeSecurityGroupsWithOptions(request, this.runtime));
      for (const g of response.body?.securityGroups?.securityGroup ?? []) {
        if (!g.securityGroupId) continue;
        out.push({
          groupId: g.securityGroupId,
          groupType: g.securityGroupType || 'normal',
          ...(g.securityGroupName ? { name: g.securityGroupName } : {}),
          ...(g.description ? { description: g.description } : {}),
          ...(g.vpcId ? { vpcId: g.vpcId } : {}),
        });
      }
      nextToken = response.body?.nextToken || undefined;
      if (nextToken !== undefined) {
        if (seen.has(nextToken)) throw toCloudError('DescribeSecurityGroups', { code: 'RepeatedNextToken', message: `ECS returned the page token ${nextToken} twice` });
        seen.add(nextToken);
      }
    } while (nextToken !== undefined);
    return out;
  }

  async describeRulesPage(args: { regionId: string; groupId: string; nicType?: 'internet' | 'intranet'; nextToken?: string; maxResults: number }): Promise<RulesPage> {
    const request = new $Ecs.DescribeSecurityGroupAttributeRequest({
      regionId: args.regionId,
      securityGroupId: args.groupId,
      direction: 'all',
      maxResults: args.maxResults,
      ...(args.nicType !== undefined && { nicType: args.nicType }),
      ...(args.nextToken !== undefined && { nextToken: args.nextToken }),
    });
    const response = await this.call('DescribeSecurityGroupAttribute', () => this.client.describeSecurityGroupAttributeWithOptions(request, this.runtime));
    const body = response.body;
    return {
      permissions: body?.permissions?.permission ?? [],
      ...(body?.nextToken ? { nextToken: body.nextToken } : {}),
      ...(body?.requestId ? { requestId: body.requestId } : {}),
    };
  }

  async authorize(args: { regionId: string; groupId: string; direction: Direction; permissions: readonly PermissionRequestFields[]; clientToken: string }): Promise<MutationResult> {
    if (args.direction === 'ingress') {
      const request = new $Ecs.AuthorizeSecurityGroupRequest({
        regionId: args.regionId,
        securityGroupId: args.groupId,
        clientToken: args.clientToken,
        permissions: args.permissions.map((p) => new $Ecs.AuthorizeSecurityGroupRequestPermissions({ ...p })),
      });
      const response = await this.call('AuthorizeSecurityGroup', () => this.client.authorizeSecurityGroupWithOptions(request, this.runtime));
      return requestIdOf(response.body?.requestId);
    }
    const request = new $Ecs.AuthorizeSecurityGroupEgressRequest({
      regionId: args.regionId,
      securityGroupId: args.groupId,
      clientToken: args.clientToken,
      permissions: args.permissions.map((p) => new $Ecs.AuthorizeSecurityGroupEgressRequestPermissions({ ...p })),
    });
    const response = await this.call('AuthorizeSecurityGroupEgress', () => this.client.authorizeSecurityGroupEgressWithOptions(request, this.runtime));
    return requestIdOf(response.body?.requestId);
  }

  async revokeByIds(args: { regionId: string; groupId: string; direction: Direction; ruleIds: readonly string[]; clientToken: string }): Promise<MutationResult> {
    const common = { regionId: args.regionId, securityGroupId: args.groupId, clientToken: args.clientToken, securityGroupRuleId: [...args.ruleIds] };
    if (args.direction === 'ingress') {
      const response = await this.call('RevokeSecurityGroup', () => this.client.revokeSecurityGroupWithOptions(new $Ecs.RevokeSecurityGroupRequest(common), this.runtime));
      return requestIdOf(response.body?.requestId);
    }
    const response = await this.call('RevokeSecurityGroupEgress', () =>
      this.client.revokeSecurityGroupEgressWithOptions(new $Ecs.RevokeSecurityGroupEgressRequest(common), this.runtime),
    );
    return requestIdOf(response.body?.requestId);
  }

  async modify(args: { regionId: string; groupId: string; direction: Direction; ruleId: string; fields: Omit<PermissionRequestFields, 'ipv6SourceCidrIp' | 'ipv6DestCidrIp'>; clientToken: string }): Promise<MutationResult> {
    const common = { regionId: args.regionId, securityGroupId: args.groupId, securityGroupRuleId: args.ruleId, clientToken: args.clientToken };
    if (args.direction === 'ingress') {
      const { destGroupId: _g, destGroupOwnerId: _i, destGroupOwnerAccount: _a, destPrefixListId: _p, ...fields } = args.fields;
      const request = new $Ecs.ModifySecurityGroupRuleRequest({ ...fields, ...common });
      const response = await this.call('ModifySecurityGroupRule', () => this.client.modifySecurityGroupRuleWithOptions(request, this.runtime));
      return requestIdOf(response.body?.requestId);
    }
    const { sourceGroupId: _g, sourceGroupOwnerId: _i, sourceGroupOwnerAccount: _a, sourcePrefixListId: _p, ...fields } = args.fields;
    const request = new $Ecs.ModifySecurityGroupEgressRuleRequest({ ...fields, ...common });
    const response = await this.call('ModifySecurityGroupEgressRule', () => this.client.modifySecurityGroupEgressRuleWithOptions(request, this.runtime));
    return requestIdOf(response.body?.requestId);
  }
}

function requestIdOf(requestId: string | undefined): MutationResult {
  return requestId ? { requestId } : {};
}

/** The ECS action each gateway call makes, for metrics and logs. */
export function actionOf(method: keyof EcsGateway, direction?: Direction): string {
  const egress = direction === 'egress' ? 'Egress' : '';
  switch (method) {
    case 'describeGroups':
      return 'DescribeSecurityGroups';
    case 'describeRulesPage':
      return 'DescribeSecurityGroupAttribute';
    case 'authorize':
      return `AuthorizeSecurityGroup${egress}`;
    case 'revokeByIds':
      return `RevokeSecurityGroup${egress}`;
    case 'modify':
      return direction === 'egress' ? 'ModifySecurityGroupEgressRule' : 'ModifySecurityGroupRule';
  }
}

/** Wraps a gateway so every call, retries included, is reported with its action and result code (`ok` on success). */
export function instrumentGateway(inner: EcsGateway, report: (action: string, code: string) => void): EcsGateway {
  const observe = async <T>(action: string, call: () => Promise<T>): Promise<T> => {
    try {
      const result = await call();
      report(action, 'ok');
      return result;
    } catch (error) {
      report(action, toCloudError(action, error).code);
      throw error;
    }
  };
  return {
    describeGroups: (regionId, groupIds) => observe(actionOf('describeGroups'), () => inner.describeGroups(regionId, groupIds)),
    describeRulesPage: (args) => observe(actionOf('describeRulesPage'), () => inner.describeRulesPage(args)),
    authorize: (args) => observe(actionOf('authorize', args.direction), () => inner.authorize(args)),
    revokeByIds: (args) => observe(actionOf('revokeByIds', args.direction), () => inner.revokeByIds(args)),
    modify: (args) => observe(actionOf('modify', args.direction), () => inner.modify(args)),
  };
}
