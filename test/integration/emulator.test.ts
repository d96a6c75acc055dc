// The ECS emulator, driven through the real, unchanged SDK (@alicloud/ecs20140526 on @alicloud/openapi-core).
import { spawn } from 'node:child_process';
import { createServer, request as httpRequest } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import EcsModule, * as $Ecs from '@alicloud/ecs20140526';
import { $OpenApiUtil, AlibabaCloudError, ClientError, ServerError, ThrottlingError } from '@alicloud/openapi-core';
import * as $dara from '@darabonba/typescript';
import { expect } from 'chai';
import { EcsEmulator, SeedError } from '../emulator/server.ts';
import type { EmulatedPermission, SeedRule, SeedState } from '../emulator/server.ts';

// Node's ESM loader sees the SDK's CommonJS `exports.default`: the client class is on `.default`.
const Ecs = EcsModule.default;
type EcsClient = InstanceType<typeof Ecs>;

const REGION = 'cn-hangzhou';
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DEMO_SEED = `${ROOT}test/fixtures/demo.yaml`;

interface SdkError extends Error {
  code?: string;
  statusCode?: number;
  retryAfter?: number;
  data?: Record<string, unknown>;
}

interface ClientOptions {
  accessKeyId?: string;
  accessKeySecret?: string;
  securityToken?: string;
  signatureAlgorithm?: string;
  readTimeout?: number;
  connectTimeout?: number;
  retryOptions?: $dara.RetryOptions;
}

function client(emu: EcsEmulator, o: ClientOptions = {}): EcsClient {
  return new Ecs(
    new $OpenApiUtil.Config({
      accessKeyId: o.accessKeyId ?? 'test-ak',
      accessKeySecret: o.accessKeySecret ?? 'test-secret',
      ...(o.securityToken !== undefined ? { securityToken: o.securityToken } : {}),
      ...(o.signatureAlgorithm !== undefined ? { signatureAlgorithm: o.signatureAlgorithm } : {}),
      ...(o.retryOptions !== undefined ? { retryOptions: o.retryOptions } : {}),
      endpoint: emu.endpoint,
      protocol: 'http',
      readTimeout: o.readTimeout ?? 10000,
      connectTimeout: o.connectTimeout ?? 10000,
    }),
  );
}

/** Any action, unparsed JSON body: for wire-level assertions (types, casing) the SDK's models would hide. */
async function rawCall(ecs: EcsClient, action: string, query: Record<string, string>, version = '2014-05-26'): Promise<Record<string, unknown>> {
  const params = new $OpenApiUtil.Params({
    action,
    version,
    protocol: 'HTTPS',
    pathname: '/',
    method: 'POST',
    authType: 'AK',
    style: 'RPC',
    reqBodyType: 'formData',
    bodyType: 'json',
  });
  const res = await ecs.callApi(params, new $OpenApiUtil.OpenApiRequest({ query }), new $dara.RuntimeOptions({}));
  return res['body'] as Record<string, unknown>;
}

async function failure(promise: Promise<unknown>): Promise<SdkError> {
  try {
    await promise;
  } catch (err) {
    return err as SdkError;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

function ingress(fields: Record<string, string>): $Ecs.AuthorizeSecurityGroupRequestPermissions {
  return new $Ecs.AuthorizeSecurityGroupRequestPermissions(fields);
}

function egress(fields: Record<string, string>): $Ecs.AuthorizeSecurityGroupEgressRequestPermissions {
  return new $Ecs.AuthorizeSecurityGroupEgressRequestPermissions(fields);
}

function authorize(ecs: EcsClient, groupId: string, permissions: $Ecs.AuthorizeSecurityGroupRequestPermissions[], extra: Record<string, string> = {}) {
  return ecs.authorizeSecurityGroup(new $Ecs.AuthorizeSecurityGroupRequest({ regionId: REGION, securityGroupId: groupId, permissions, ...extra }));
}

function authorizeEgress(ecs: EcsClient, groupId: string, permissions: $Ecs.AuthorizeSecurityGroupEgressRequestPermissions[]) {
  return ecs.authorizeSecurityGroupEgress(new $Ecs.AuthorizeSecurityGroupEgressRequest({ regionId: REGION, securityGroupId: groupId, permissions }));
}

function describeRules(ecs: EcsClient, groupId: string, extra: Record<string, string | number> = {}) {
  return ecs.describeSecurityGroupAttribute(new $Ecs.DescribeSecurityGroupAttributeRequest({ regionId: REGION, securityGroupId: groupId, ...extra }));
}

function ruleWith(rules: EmulatedPermission[], pred: (r: EmulatedPermission) => boolean): EmulatedPermission {
  const found = rules.find(pred);
  if (!found) throw new Error('no such rule');
  return found;
}

function baseSeed(): SeedState {
  return {
    regions: {
      [REGION]: {
        prefixLists: [{ id: 'pl-office', name: 'office' }],
        securityGroups: [
          {
            id: 'sg-vpc',
            name: 'vpc-group',
            description: 'a VPC group',
            vpcId: 'vpc-1',
            rules: [
              { direction: 'ingress', ipProtocol: 'TCP', portRange: '22/22', sourceCidrIp: '10.0.0.0/8', priority: 1, description: 'ssh', securityGroupRuleId: 'sgr-ssh' },
              { direction: 'ingress', ipProtocol: 'TCP', portRange: '8080/8080', sourceGroupId: 'sg-peer', priority: 2, securityGroupRuleId: 'sgr-peer' },
              { direction: 'ingress', ipProtocol: 'ICMP', portRange: '-1/-1', sourceCidrIp: '0.0.0.0/0', priority: 110, description: 'System created rule.', securityGroupRuleId: 'sgr-system' },
              { direction: 'egress', ipProtocol: 'UDP', portRange: '53/53', destCidrIp: '0.0.0.0/0', policy: 'drop', priority: 5, description: 'dns', securityGroupRuleId: 'sgr-dns' },
            ],
          },
          { id: 'sg-peer', name: 'peer', vpcId: 'vpc-1' },
          { id: 'sg-other-vpc', name: 'elsewhere', vpcId: 'vpc-2' },
          {
            id: 'sg-classic',
            name: 'classic',
            rules: [
              { direction: 'ingress', ipProtocol: 'TCP', portRange: '80/80', sourceCidrIp: '0.0.0.0/0', nicType: 'internet', securityGroupRuleId: 'sgr-c-internet' },
              { direction: 'ingress', ipProtocol: 'TCP', portRange: '22/22', sourceCidrIp: '10.0.0.0/8', nicType: 'intranet', securityGroupRuleId: 'sgr-c-intranet' },
            ],
          },
          { id: 'sg-enterprise', name: 'advanced', type: 'enterprise', vpcId: 'vpc-1' },
        ],
      },
      'cn-shanghai': { securityGroups: [{ id: 'sg-shanghai', vpcId: 'vpc-9' }] },
    },
  };
}

function bigSeed(perDirection: number): SeedState {
  const rules: SeedRule[] = [];
  for (let i = 0; i < perDirection; i++) {
    rules.push({ direction: 'ingress', ipProtocol: 'TCP', portRange: `${1000 + i}/${1000 + i}`, sourceCidrIp: `10.1.${i}.0/24` });
    rules.push({ direction: 'egress', ipProtocol: 'UDP', portRange: `${2000 + i}/${2000 + i}`, destCidrIp: `10.2.${i}.0/24` });
  }
  return { regions: { [REGION]: { securityGroups: [{ id: 'sg-big', vpcId: 'vpc-1', rules }] } } };
}

async function waitFor(pred: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !pred(); i++) await new Promise((r) => setTimeout(r, 50));
  if (!pred()) throw new Error('condition not reached');
}

describe('ECS emulator through the real SDK', () => {
  let emu: EcsEmulator;
  let ecs: EcsClient;

  before(async () => {
    emu = await EcsEmulator.start();
    ecs = client(emu);
  });

  after(async () => {
    await emu.stop();
  });

  beforeEach(() => {
    emu.seed(baseSeed());
    emu.setFaults({});
    emu.setIdentityIncludesPriority(false);
    emu.setPageCap(undefined);
    emu.setLastPageToken('empty');
    emu.setLimits({});
    emu.clearCalls();
  });

  describe('authentication', () => {
    it('accepts a request signed ACS3-HMAC-SHA256 with the right secret', async () => {
      const res = await describeRules(ecs, 'sg-vpc');
      expect(res.statusCode).to.equal(200);
      expect(res.body?.requestId).to.match(/^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/);
      expect(emu.calls()[0]).to.include({ action: 'DescribeSecurityGroupAttribute', status: 200, accessKeyId: 'test-ak', applied: true });
    });

    it('rejects a wrong secret with SignatureDoesNotMatch and changes nothing', async () => {
      const before = emu.rules('sg-vpc');
      const err = await failure(authorize(client(emu, { accessKeySecret: 'not-the-secret' }), 'sg-vpc', [ingress({ ipProtocol: 'TCP', portRange: '443/443', sourceCidrIp: '0.0.0.0/0' })]));
      expect(err).to.be.instanceOf(ClientError);
      expect(err.code).to.equal('SignatureDoesNotMatch');
      expect(err.statusCode).to.equal(400);
      expect(err.data?.['Message']).to.equal('Specified signature is not matched with our calculation.');
      expect(emu.rules('sg-vpc')).to.deep.equal(before);
      const call = emu.calls()[0];
      expect(call).to.include({ action: 'AuthorizeSecurityGroup', status: 400, code: 'SignatureDoesNotMatch', applied: false, changed: false });
      expect(call?.params['Permissions.1.PortRange']).to.equal('443/443');
      expect(JSON.stringify(emu.calls())).not.to.contain('not-the-secret');
    });

    it('rejects an unknown AccessKeyId with 404 InvalidAccessKeyId.NotFound', async () => {
      const err = await failure(describeRules(client(emu, { accessKeyId: 'who-is-this' }), 'sg-vpc'));
      expect(err).to.be.instanceOf(ClientError);
      expect(err.code).to.equal('InvalidAccessKeyId.NotFound');
      expect(err.statusCode).to.equal(404);
    });

    it('accepts STS credentials only together with their security token', async () => {
      emu.seed({ ...baseSeed(), credentials: [{ accessKeyId: 'STS.ak', accessKeySecret: 'sts-secret', securityToken: 'token-1' }] });
      const ok = await describeRules(client(emu, { accessKeyId: 'STS.ak', accessKeySecret: 'sts-secret', securityToken: 'token-1' }), 'sg-vpc');
      expect(ok.statusCode).to.equal(200);
      const wrongToken = await failure(describeRules(client(emu, { accessKeyId: 'STS.ak', accessKeySecret: 'sts-secret', securityToken: 'token-2' }), 'sg-vpc'));
      expect(wrongToken.code).to.equal('InvalidSecurityToken.MismatchWithAccessKey');
      const noToken = await failure(describeRules(client(emu, { accessKeyId: 'STS.ak', accessKeySecret: 'sts-secret' }), 'sg-vpc'));
      expect(noToken.code).to.equal('InvalidSecurityToken.MismatchWithAccessKey');
    });

    it('also verifies V2 (HMAC-SHA1 RPC) signatures', async () => {
      const ok = await describeRules(client(emu, { signatureAlgorithm: 'v2' }), 'sg-vpc');
      expect(ok.body?.permissions?.permission).to.have.length(4);
      expect(emu.calls()[0]?.params).to.deep.equal({ RegionId: REGION, SecurityGroupId: 'sg-vpc' });
      const err = await failure(describeRules(client(emu, { signatureAlgorithm: 'v2', accessKeySecret: 'wrong' }), 'sg-vpc'));
      expect(err.code).to.equal('SignatureDoesNotMatch');
    });

    it('answers an unsigned request with IncompleteSignature as JSON, never XML', async () => {
      const res = await fetch(`${emu.url}/?RegionId=${REGION}`, { method: 'POST', headers: { 'x-acs-action': 'DescribeSecurityGroups', 'x-acs-version': '2014-05-26' } });
      expect(res.status).to.equal(400);
      expect(res.headers.get('content-type')).to.equal('application/json;charset=utf-8');
      const body = (await res.json()) as Record<string, unknown>;
      expect(body).to.have.keys('RequestId', 'HostId', 'Code', 'Message', 'Recommend');
      expect(body['Code']).to.equal('IncompleteSignature');
      expect(body['HostId']).to.equal('ecs.cn-hangzhou.aliyuncs.com');
    });

    it('signs the query: a captured SDK request replays once, then fails on its nonce, and fails when tampered with', async () => {
      // Capture what the SDK really sends, then replay it byte for byte to the emulator.
      let captured: { url: string; headers: IncomingHttpHeaders } | undefined;
      const capture = createServer((req, res) => {
        captured = { url: req.url ?? '/', headers: req.headers };
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"RequestId":"x"}');
      });
      await new Promise<void>((r) => capture.listen(0, '127.0.0.1', () => r()));
      const capturePort = (capture.address() as AddressInfo).port;
      try {
        const sdk = new Ecs(new $OpenApiUtil.Config({ accessKeyId: 'test-ak', accessKeySecret: 'test-secret', endpoint: `127.0.0.1:${capturePort}`, protocol: 'http' }));
        await sdk.describeSecurityGroups(new $Ecs.DescribeSecurityGroupsRequest({ regionId: REGION, securityGroupName: "web (prod) isn't *!" }));
      } finally {
        capture.closeAllConnections();
        capture.close();
      }
      if (!captured) throw new Error('nothing captured');
      const sent = captured;
      const replay = (url: string) =>
        new Promise<{ status: number; code: unknown }>((resolve, reject) => {
          const headers = { ...sent.headers, connection: 'close' };
          const req = httpRequest(`${emu.url}${url}`, { method: 'POST', headers }, (res) => {
            let text = '';
            res.on('data', (c: Buffer) => (text += c.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, code: (JSON.parse(text) as Record<string, unknown>)['Code'] }));
          });
          req.on('error', reject);
          req.end();
        });
      expect(await replay(sent.url)).to.deep.equal({ status: 200, code: undefined });
      expect(await replay(sent.url)).to.deep.equal({ status: 400, code: 'SignatureNonceUsed' });
      expect(await replay(sent.url.replace(`RegionId=${REGION}`, 'RegionId=cn-beijing'))).to.deep.equal({ status: 400, code: 'SignatureDoesNotMatch' });
    });

    it('answers an unknown action with 404 InvalidApi.NotFound and another API version with InvalidVersion', async () => {
      const unknown = await failure(rawCall(ecs, 'DescribeSecurityGroupRules', { RegionId: REGION }));
      expect(unknown.code).to.equal('InvalidApi.NotFound');
      expect(unknown.statusCode).to.equal(404);
      const version = await failure(rawCall(ecs, 'DescribeSecurityGroups', { RegionId: REGION }, '2016-03-14'));
      expect(version.code).to.equal('InvalidVersion');
      expect(emu.calls().map((c) => c.code)).to.deep.equal(['InvalidApi.NotFound', 'InvalidVersion']);
    });
  });

  describe('DescribeSecurityGroups', () => {
    it('describes a group by id with its type, VPC, rule count and tags', async () => {
      const res = await ecs.describeSecurityGroups(new $Ecs.DescribeSecurityGroupsRequest({ regionId: REGION, securityGroupId: 'sg-vpc' }));
      const groups = res.body?.securityGroups?.securityGroup ?? [];
      expect(groups).to.have.length(1);
      expect(groups[0]).to.include({ securityGroupId: 'sg-vpc', securityGroupName: 'vpc-group', securityGroupType: 'normal', vpcId: 'vpc-1', ruleCount: 4, serviceManaged: false, resourceGroupId: '' });
      expect(groups[0]?.creationTime).to.match(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
      const raw = await rawCall(ecs, 'DescribeSecurityGroups', { RegionId: REGION, SecurityGroupIds: '["sg-enterprise","sg-classic"]' });
      const rawGroups = (raw['SecurityGroups'] as { SecurityGroup: Record<string, unknown>[] }).SecurityGroup;
      expect(rawGroups.map((g) => [g['SecurityGroupId'], g['SecurityGroupType'], g['VpcId'], typeof g['RuleCount'], g['ServiceManaged']])).to.deep.equal([
        ['sg-classic', 'normal', '', 'number', false],
        ['sg-enterprise', 'enterprise', 'vpc-1', 'number', false],
      ]);
      expect(raw['TotalCount']).to.equal(2);
    });

    it('returns an empty list for a group of another region and for an unknown region', async () => {
      const other = await ecs.describeSecurityGroups(new $Ecs.DescribeSecurityGroupsRequest({ regionId: REGION, securityGroupId: 'sg-shanghai' }));
      expect(other.body?.securityGroups?.securityGroup).to.deep.equal([]);
      const nowhere = await ecs.describeSecurityGroups(new $Ecs.DescribeSecurityGroupsRequest({ regionId: 'xx-nowhere-1', securityGroupId: 'sg-vpc' }));
      expect(nowhere.body?.securityGroups?.securityGroup).to.deep.equal([]);
      const missingRegion = await failure(ecs.describeSecurityGroups(new $Ecs.DescribeSecurityGroupsRequest({ securityGroupId: 'sg-vpc' })));
      expect(missingRegion.code).to.equal('MissingParameter.RegionId');
    });

    it('pages groups with MaxResults and NextToken', async () => {
      const seen: string[] = [];
      let nextToken: string | undefined;
      do {
        const res = await ecs.describeSecurityGroups(new $Ecs.DescribeSecurityGroupsRequest({ regionId: REGION, maxResults: 2, ...(nextToken ? { nextToken } : {}) }));
        seen.push(...(res.body?.securityGroups?.securityGroup ?? []).map((g) => g.securityGroupId ?? ''));
        nextToken = res.body?.nextToken;
      } while (nextToken);
      expect(seen).to.deep.equal(['sg-vpc', 'sg-peer', 'sg-other-vpc', 'sg-classic', 'sg-enterprise']);
    });
  });

  describe('DescribeSecurityGroupAttribute', () => {
    it('returns every one of 130 rules exactly once in pages of at most 7 under a page cap of 7', async () => {
      emu.seed(bigSeed(65));
      emu.setPageCap(7);
      const ids: string[] = [];
      let nextToken: string | undefined;
      let pages = 0;
      do {
        const res = await describeRules(ecs, 'sg-big', { maxResults: 100, ...(nextToken ? { nextToken } : {}) });
        const page = res.body?.permissions?.permission ?? [];
        expect(page.length).to.be.at.most(7);
        ids.push(...page.map((p) => p.securityGroupRuleId ?? ''));
        nextToken = res.body?.nextToken;
        pages += 1;
      } while (nextToken);
      expect(nextToken).to.equal('');
      expect(pages).to.equal(Math.ceil(130 / 7));
      expect(ids).to.have.length(130);
      expect(new Set(ids).size).to.equal(130);
      expect(new Set(ids)).to.deep.equal(new Set(emu.rules('sg-big').map((r) => r.SecurityGroupRuleId)));
    });

    it('filters by Direction, pages without a cap by MaxResults, and omits NextToken on the last page when told to', async () => {
      emu.seed(bigSeed(25));
      emu.setLastPageToken('absent');
      const first = await describeRules(ecs, 'sg-big', { direction: 'egress', maxResults: 20 });
      expect(first.body?.permissions?.permission).to.have.length(20);
      expect(first.body?.permissions?.permission?.every((p) => p.direction === 'egress')).to.equal(true);
      const second = await describeRules(ecs, 'sg-big', { direction: 'egress', maxResults: 20, nextToken: first.body?.nextToken ?? '' });
      expect(second.body?.permissions?.permission).to.have.length(5);
      expect(second.body?.nextToken).to.equal(undefined);
      const wrongFilter = await failure(describeRules(ecs, 'sg-big', { direction: 'ingress', maxResults: 20, nextToken: first.body?.nextToken ?? '' }));
      expect(wrongFilter.code).to.equal('InValidParameter.NextToken');
    });

    it('returns values with ECS casing and types: lower-case Direction/NicType, Accept/Drop, upper-case protocol, numeric Priority, "" for unset', async () => {
      await authorize(ecs, 'sg-vpc', [ingress({ ipProtocol: 'tcp', portRange: '443/443', sourceCidrIp: '0.0.0.0/0', policy: 'ACCEPT', nicType: 'internet', priority: '3' })]);
      const body = await rawCall(ecs, 'DescribeSecurityGroupAttribute', { RegionId: REGION, SecurityGroupId: 'sg-vpc' });
      expect(body).to.include({ RegionId: REGION, SecurityGroupId: 'sg-vpc', SecurityGroupName: 'vpc-group', Description: 'a VPC group', VpcId: 'vpc-1', InnerAccessPolicy: 'Accept', NextToken: '' });
      const perms = (body['Permissions'] as { Permission: Record<string, unknown>[] }).Permission;
      const https = perms.find((p) => p['PortRange'] === '443/443');
      expect(https).to.include({ Direction: 'ingress', IpProtocol: 'TCP', Policy: 'Accept', NicType: 'intranet', Priority: 3, Description: '', SourceGroupId: '', DestCidrIp: '', SourcePortRange: '' });
      expect(https?.['SecurityGroupRuleId']).to.match(/^sgr-[a-z0-9]+$/);
      expect(https?.['CreateTime']).to.match(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
      const peer = perms.find((p) => p['SecurityGroupRuleId'] === 'sgr-peer');
      expect(peer).to.include({ SourceGroupId: 'sg-peer', SourceGroupName: 'peer', SourceGroupOwnerAccount: '1234567890', SourceCidrIp: '' });
      const dns = perms.find((p) => p['SecurityGroupRuleId'] === 'sgr-dns');
      expect(dns).to.include({ Direction: 'egress', IpProtocol: 'UDP', Policy: 'Drop', Priority: 5, DestCidrIp: '0.0.0.0/0' });
      for (const p of perms) {
        for (const [key, v] of Object.entries(p)) expect(typeof v, key).to.equal(key === 'Priority' ? 'number' : 'string');
      }
    });

    it('serves a classic group one NicType per call (internet by default) and a VPC group always as intranet', async () => {
      const internet = await describeRules(ecs, 'sg-classic');
      expect(internet.body?.permissions?.permission?.map((p) => p.securityGroupRuleId)).to.deep.equal(['sgr-c-internet']);
      const intranet = await describeRules(ecs, 'sg-classic', { nicType: 'intranet' });
      expect(intranet.body?.permissions?.permission?.map((p) => p.securityGroupRuleId)).to.deep.equal(['sgr-c-intranet']);
      const vpc = await describeRules(ecs, 'sg-vpc', { nicType: 'internet' });
      expect(vpc.body?.permissions?.permission).to.have.length(4);
      expect(vpc.body?.permissions?.permission?.every((p) => p.nicType === 'intranet')).to.equal(true);
    });

    it('answers an unknown group with 404 InvalidSecurityGroupId.NotFound and MaxResults outside 10-1000 with InvalidParameter', async () => {
      const unknown = await failure(describeRules(ecs, 'sg-nope'));
      expect(unknown).to.be.instanceOf(ClientError);
      expect(unknown.code).to.equal('InvalidSecurityGroupId.NotFound');
      expect(unknown.statusCode).to.equal(404);
      const otherRegion = await failure(describeRules(ecs, 'sg-shanghai'));
      expect(otherRegion.code).to.equal('InvalidSecurityGroupId.NotFound');
      const malformed = await failure(describeRules(ecs, 'web-prod'));
      expect(malformed.code).to.equal('InvalidSecurityGroupId.Malformed');
      for (const maxResults of [9, 1001]) {
        const err = await failure(describeRules(ecs, 'sg-vpc', { maxResults }));
        expect(err.code).to.equal('InvalidParameter');
        expect(err.statusCode).to.equal(400);
      }
    });
  });

  describe('AuthorizeSecurityGroup and AuthorizeSecurityGroupEgress', () => {
    it('adds new rules with fresh ids and creation times, normalised like ECS returns them', async () => {
      await authorize(ecs, 'sg-vpc', [ingress({ ipProtocol: 'udp', portRange: '500/600', sourceCidrIp: '192.168.0.0/16', policy: 'drop', priority: '9', description: 'vpn' })]);
      await authorizeEgress(ecs, 'sg-vpc', [egress({ ipProtocol: 'icmpv6', portRange: '-1/-1', ipv6DestCidrIp: '2001:DB8::/32' }), egress({ ipProtocol: 'gre', portRange: '-1/-1', destPrefixListId: 'pl-office' })]);
      const rules = emu.rules('sg-vpc');
      expect(rules).to.have.length(7);
      const vpn = ruleWith(rules, (r) => r.Description === 'vpn');
      expect(vpn).to.include({ Direction: 'ingress', IpProtocol: 'UDP', PortRange: '500/600', Policy: 'Drop', Priority: 9, NicType: 'intranet' });
      expect(vpn.SecurityGroupRuleId).to.match(/^sgr-/);
      const v6 = ruleWith(rules, (r) => r.IpProtocol === 'ICMPV6');
      expect(v6).to.include({ Direction: 'egress', Ipv6DestCidrIp: '2001:DB8::/32', Policy: 'Accept', Priority: 1 });
      const pl = ruleWith(rules, (r) => r.IpProtocol === 'GRE');
      expect(pl).to.include({ DestPrefixListId: 'pl-office', DestPrefixListName: 'office' });
      expect(new Set(rules.map((r) => r.SecurityGroupRuleId)).size).to.equal(7);
    });

    it('treats an entry equal to an existing rule as a successful no-op', async () => {
      const before = emu.rules('sg-vpc');
      const res = await authorize(ecs, 'sg-vpc', [ingress({ ipProtocol: 'TCP', portRange: '22/22', sourceCidrIp: '10.0.0.0/8', description: 'another description', priority: '40' })]);
      expect(res.statusCode).to.equal(200);
      expect(emu.rules('sg-vpc')).to.deep.equal(before);
      expect(emu.calls()[0]).to.include({ applied: true, changed: false });
    });

    it('rejects a whole batch when one entry is invalid, changing nothing', async () => {
      const before = emu.rules('sg-vpc');
      const err = await failure(
        authorize(ecs, 'sg-vpc', [
          ingress({ ipProtocol: 'TCP', portRange: '443/443', sourceCidrIp: '0.0.0.0/0' }),
          ingress({ ipProtocol: 'TCPX', portRange: '444/444', sourceCidrIp: '0.0.0.0/0' }),
          ingress({ ipProtocol: 'TCP', portRange: '445/445', sourceCidrIp: '0.0.0.0/0' }),
        ]),
      );
      expect(err.code).to.equal('InvalidIpProtocol.ValueNotSupported');
      expect(err.statusCode).to.equal(400);
      expect(err.message).to.contain('Permissions.2');
      expect(emu.rules('sg-vpc')).to.deep.equal(before);
      expect(emu.calls()[0]).to.include({ applied: false, changed: false });
    });

    it('refuses priority 110, so system rules cannot be created', async () => {
      const err = await failure(authorize(ecs, 'sg-vpc', [ingress({ ipProtocol: 'ICMP', portRange: '-1/-1', sourceCidrIp: '10.9.0.0/16', priority: '110' })]));
      expect(err.code).to.equal('InvalidPriority.ValueNotSupported');
      expect(err.statusCode).to.equal(400);
    });

    it('rejects values ECS rejects, each with its documented code', async () => {
      const cases: [Record<string, string>, string][] = [
        [{ ipProtocol: 'TCP', portRange: '22' }, 'InvalidPortRange.Malformed'],
        [{ ipProtocol: 'TCP', portRange: '200/1' }, 'InvalidParam.PortRange'],
        [{ ipProtocol: 'UDP', portRange: '0/70000' }, 'InvalidParam.PortRange'],
        [{ ipProtocol: 'TCP', portRange: '-1/-1' }, 'OperationDenied'],
        [{ ipProtocol: 'ICMP', portRange: '1/1' }, 'OperationDenied'],
        [{ ipProtocol: 'ALL', portRange: '1/65535' }, 'OperationDenied'],
        [{ ipProtocol: 'TCP', portRange: '1/1', policy: 'allow' }, 'InvalidPolicy.Malformed'],
        [{ ipProtocol: 'TCP', portRange: '1/1', priority: 'high' }, 'InvalidPriority.Malformed'],
        [{ ipProtocol: 'TCP', portRange: '1/1', priority: '0' }, 'InvalidPriority.ValueNotSupported'],
        [{ ipProtocol: 'TCP', portRange: '1/1', nicType: 'public' }, 'InvalidNicType.ValueNotSupported'],
        [{ ipProtocol: 'TCP', portRange: '1/1', description: 'x'.repeat(513) }, 'InvalidSecurityGroupDiscription.Malformed'],
        [{ ipProtocol: 'TCP', portRange: '1/1', sourceCidrIp: '10.0.0.300/8' }, 'InvalidSourceCidrIp.Malformed'],
        [{ ipProtocol: 'TCP', portRange: '1/1', sourceCidrIp: '', sourcePrefixListId: 'pl-unknown' }, 'InvalidPrefixListId.NotFound'],
      ];
      for (const [fields, code] of cases) {
        const err = await failure(authorize(ecs, 'sg-vpc', [ingress({ sourceCidrIp: '1.2.3.0/24', ...fields })]));
        expect(err.code, JSON.stringify(fields)).to.equal(code);
      }
      expect(emu.rules('sg-vpc')).to.have.length(4);
    });

    it('takes a full batch of 100 entries with long descriptions in one call, and refuses 101', async () => {
      const entries = (n: number) =>
        Array.from({ length: n }, (_, i) => ingress({ ipProtocol: 'TCP', portRange: `${10000 + i}/${10000 + i}`, sourceCidrIp: `172.16.${i}.0/24`, description: `rule ${i} ${'d'.repeat(300)}` }));
      await authorize(ecs, 'sg-vpc', entries(100));
      expect(emu.rules('sg-vpc')).to.have.length(104);
      emu.seed(baseSeed());
      const err = await failure(authorize(ecs, 'sg-vpc', entries(101)));
      expect(err.code).to.equal('InvalidParameter.Permissions');
      expect(emu.rules('sg-vpc')).to.have.length(4);
    });

    it('enforces a per-group rule limit when one is configured', async () => {
      emu.setLimits({ rulesPerGroup: 5 });
      await authorize(ecs, 'sg-vpc', [ingress({ ipProtocol: 'TCP', portRange: '1/1', sourceCidrIp: '1.2.3.0/24' })]);
      const err = await failure(authorize(ecs, 'sg-vpc', [ingress({ ipProtocol: 'TCP', portRange: '2/2', sourceCidrIp: '1.2.3.0/24' })]));
      expect(err.code).to.equal('AuthorizationLimitExceed');
      expect(err.statusCode).to.equal(403);
      emu.setLimits({});
    });

    it('rejects two entries with the same identity in one call with InvalidParam.DuplicatePermissions', async () => {
      const err = await failure(
        authorize(ecs, 'sg-vpc', [
          ingress({ ipProtocol: 'TCP', portRange: '443/443', sourceCidrIp: '0.0.0.0/0', description: 'a' }),
          ingress({ ipProtocol: 'tcp', portRange: '443/443', sourceCidrIp: '0.0.0.0/0', description: 'b' }),
        ]),
      );
      expect(err.code).to.equal('InvalidParam.DuplicatePermissions');
    });

    it('requires exactly one peer, naming the missing side', async () => {
      const source = await failure(authorize(ecs, 'sg-vpc', [ingress({ ipProtocol: 'TCP', portRange: '443/443' })]));
      expect(source.code).to.equal('MissingParameter.Source');
      const dest = await failure(authorizeEgress(ecs, 'sg-vpc', [egress({ ipProtocol: 'TCP', portRange: '443/443' })]));
      expect(dest.code).to.equal('MissingParameter.Dest');
      const both = await failure(authorize(ecs, 'sg-vpc', [ingress({ ipProtocol: 'TCP', portRange: '443/443', sourceCidrIp: '1.1.1.1', ipv6SourceCidrIp: '::1' })]));
      expect(both.code).to.equal('InvalidParam.SourceIp');
    });

    it('requires referenced groups to exist in the region and share the network', async () => {
      const missing = await failure(authorize(ecs, 'sg-vpc', [ingress({ ipProtocol: 'TCP', portRange: '443/443', sourceGroupId: 'sg-shanghai' })]));
      expect(missing.code).to.equal('InvalidSourceGroupId.NotFound');
      expect(missing.statusCode).to.equal(404);
      const missingDest = await failure(authorizeEgress(ecs, 'sg-vpc', [egress({ ipProtocol: 'TCP', portRange: '443/443', destGroupId: 'sg-gone' })]));
      expect(missingDest.code).to.equal('InvalidDestGroupId.NotFound');
      const otherVpc = await failure(authorize(ecs, 'sg-vpc', [ingress({ ipProtocol: 'TCP', portRange: '443/443', sourceGroupId: 'sg-other-vpc' })]));
      expect(otherVpc.code).to.equal('InvalidSourceGroupId.Mismatch');
      await authorize(ecs, 'sg-vpc', [ingress({ ipProtocol: 'TCP', portRange: '443/443', sourceGroupId: 'sg-vpc' })]);
      expect(ruleWith(emu.rules('sg-vpc'), (r) => r.PortRange === '443/443')).to.include({ SourceGroupId: 'sg-vpc', SourceGroupOwnerAccount: '1234567890' });
    });

    it('refuses drop rules and group references in an enterprise group', async () => {
      const drop = await failure(authorize(ecs, 'sg-enterprise', [ingress({ ipProtocol: 'TCP', portRange: '22/22', sourceCidrIp: '0.0.0.0/0', policy: 'drop' })]));
      expect(drop.code).to.equal('InvalidGroupAuthParameter.OperationDenied');
      const ref = await failure(authorize(ecs, 'sg-enterprise', [ingress({ ipProtocol: 'TCP', portRange: '22/22', sourceGroupId: 'sg-vpc' })]));
      expect(ref.code).to.equal('InvalidGroupAuthParameter.OperationDenied');
      await authorize(ecs, 'sg-enterprise', [ingress({ ipProtocol: 'TCP', portRange: '22/22', sourceCidrIp: '0.0.0.0/0' })]);
      expect(emu.rules('sg-enterprise')).to.have.length(1);
    });

    it('refuses IPv6 and prefix lists in a classic group and keeps internet and intranet rules apart', async () => {
      const v6 = await failure(authorize(ecs, 'sg-classic', [ingress({ ipProtocol: 'TCP', portRange: '80/80', ipv6SourceCidrIp: '::/0' })]));
      expect(v6.code).to.equal('NotSupported.ClassicNetworkIpv6');
      const pl = await failure(authorize(ecs, 'sg-classic', [ingress({ ipProtocol: 'TCP', portRange: '80/80', sourcePrefixListId: 'pl-office' })]));
      expect(pl.code).to.equal('NotSupported.ClassicNetworkPrefixList');
      // Same as sgr-c-internet but on the intranet NIC: a different rule in a classic group.
      await authorize(ecs, 'sg-classic', [ingress({ ipProtocol: 'TCP', portRange: '80/80', sourceCidrIp: '0.0.0.0/0', nicType: 'intranet' })]);
      expect(emu.rules('sg-classic')).to.have.length(3);
    });

    it('refuses legacy top-level rule fields mixed with Permissions', async () => {
      const err = await failure(authorize(ecs, 'sg-vpc', [ingress({ ipProtocol: 'TCP', portRange: '443/443', sourceCidrIp: '0.0.0.0/0' })], { ipProtocol: 'TCP' }));
      expect(err.code).to.equal('InvalidParam.Permissions');
    });

    it('answers an unknown group with 404 InvalidSecurityGroupId.NotFound', async () => {
      const err = await failure(authorize(ecs, 'sg-nope', [ingress({ ipProtocol: 'TCP', portRange: '443/443', sourceCidrIp: '0.0.0.0/0' })]));
      expect(err.code).to.equal('InvalidSecurityGroupId.NotFound');
      expect(err.statusCode).to.equal(404);
      expect(emu.calls()[0]?.rulesAfter).to.equal(undefined);
    });
  });

  describe('RevokeSecurityGroup and RevokeSecurityGroupEgress', () => {
    it('revokes rules by id, system rules included', async () => {
      await ecs.revokeSecurityGroup(new $Ecs.RevokeSecurityGroupRequest({ regionId: REGION, securityGroupId: 'sg-vpc', securityGroupRuleId: ['sgr-ssh', 'sgr-system'] }));
      await ecs.revokeSecurityGroupEgress(new $Ecs.RevokeSecurityGroupEgressRequest({ regionId: REGION, securityGroupId: 'sg-vpc', securityGroupRuleId: ['sgr-dns'] }));
      expect(emu.rules('sg-vpc').map((r) => r.SecurityGroupRuleId)).to.deep.equal(['sgr-peer']);
    });

    it('rejects an unknown rule id with the documented per-direction code and revokes nothing', async () => {
      const before = emu.rules('sg-vpc');
      const inErr = await failure(ecs.revokeSecurityGroup(new $Ecs.RevokeSecurityGroupRequest({ regionId: REGION, securityGroupId: 'sg-vpc', securityGroupRuleId: ['sgr-ssh', 'sgr-unknown'] })));
      expect(inErr.code).to.equal('InvalidParam.SecurityGroupRuleId');
      expect(inErr.statusCode).to.equal(400);
      const outErr = await failure(ecs.revokeSecurityGroupEgress(new $Ecs.RevokeSecurityGroupEgressRequest({ regionId: REGION, securityGroupId: 'sg-vpc', securityGroupRuleId: ['sgr-dns', 'sgr-unknown'] })));
      expect(outErr.code).to.equal('InvalidSecurityGroupRule.RuleNotExist');
      expect(outErr.statusCode).to.equal(400);
      const otherDirection = await failure(ecs.revokeSecurityGroupEgress(new $Ecs.RevokeSecurityGroupEgressRequest({ regionId: REGION, securityGroupId: 'sg-vpc', securityGroupRuleId: ['sgr-ssh'] })));
      expect(otherDirection.code).to.equal('InvalidSecurityGroupRule.RuleNotExist');
      expect(emu.rules('sg-vpc')).to.deep.equal(before);
    });

    it('rejects repeated rule ids, and ids together with Permissions', async () => {
      const repeated = await failure(ecs.revokeSecurityGroup(new $Ecs.RevokeSecurityGroupRequest({ regionId: REGION, securityGroupId: 'sg-vpc', securityGroupRuleId: ['sgr-ssh', 'sgr-ssh'] })));
      expect(repeated.code).to.equal('InvalidParam.SecurityGroupRuleIdRepeated');
      const both = await failure(
        ecs.revokeSecurityGroup(
          new $Ecs.RevokeSecurityGroupRequest({
            regionId: REGION,
            securityGroupId: 'sg-vpc',
            securityGroupRuleId: ['sgr-ssh'],
            permissions: [new $Ecs.RevokeSecurityGroupRequestPermissions({ ipProtocol: 'TCP', portRange: '22/22', sourceCidrIp: '10.0.0.0/8' })],
          }),
        ),
      );
      expect(both.statusCode).to.equal(400);
      expect(emu.rules('sg-vpc')).to.have.length(4);
    });

    it('revokes by Permissions what matches and succeeds when nothing matches', async () => {
      const revoke = (fields: Record<string, string>) =>
        ecs.revokeSecurityGroup(new $Ecs.RevokeSecurityGroupRequest({ regionId: REGION, securityGroupId: 'sg-vpc', permissions: [new $Ecs.RevokeSecurityGroupRequestPermissions(fields)] }));
      const nothing = await revoke({ ipProtocol: 'TCP', portRange: '23/23', sourceCidrIp: '10.0.0.0/8' });
      expect(nothing.statusCode).to.equal(200);
      expect(emu.rules('sg-vpc')).to.have.length(4);
      await revoke({ ipProtocol: 'tcp', portRange: '8080/8080', sourceGroupId: 'sg-peer' });
      expect(emu.rules('sg-vpc').map((r) => r.SecurityGroupRuleId)).to.deep.equal(['sgr-ssh', 'sgr-system', 'sgr-dns']);
      expect(emu.calls().map((c) => c.changed)).to.deep.equal([false, true]);
    });
  });

  describe('ModifySecurityGroupRule and ModifySecurityGroupEgressRule', () => {
    const modify = (fields: Record<string, string>) => ecs.modifySecurityGroupRule(new $Ecs.ModifySecurityGroupRuleRequest({ regionId: REGION, securityGroupId: 'sg-vpc', ...fields }));

    it('updates only the fields given; an empty field keeps its old value', async () => {
      await modify({ securityGroupRuleId: 'sgr-ssh', priority: '7' });
      expect(ruleWith(emu.rules('sg-vpc'), (r) => r.SecurityGroupRuleId === 'sgr-ssh')).to.include({ Priority: 7, Description: 'ssh', SourceCidrIp: '10.0.0.0/8', Policy: 'Accept' });
      await modify({ securityGroupRuleId: 'sgr-ssh', description: '', policy: 'drop', sourceCidrIp: '10.1.0.0/16' });
      const after = ruleWith(emu.rules('sg-vpc'), (r) => r.SecurityGroupRuleId === 'sgr-ssh');
      expect(after).to.include({ Priority: 7, Description: 'ssh', SourceCidrIp: '10.1.0.0/16', Policy: 'Drop' });
      await ecs.modifySecurityGroupEgressRule(new $Ecs.ModifySecurityGroupEgressRuleRequest({ regionId: REGION, securityGroupId: 'sg-vpc', securityGroupRuleId: 'sgr-dns', description: 'resolver' }));
      expect(ruleWith(emu.rules('sg-vpc'), (r) => r.SecurityGroupRuleId === 'sgr-dns')).to.include({ Description: 'resolver', Priority: 5, Policy: 'Drop' });
      expect(emu.rules('sg-vpc').map((r) => r.SecurityGroupRuleId)).to.deep.equal(['sgr-ssh', 'sgr-peer', 'sgr-system', 'sgr-dns']);
    });

    it('cannot change the kind of peer of a rule', async () => {
      const err = await failure(modify({ securityGroupRuleId: 'sgr-ssh', sourceGroupId: 'sg-peer' }));
      expect(err.code).to.equal('InvalidParam.AuthorizationObjectType');
      expect(emu.rules('sg-vpc')[0]).to.include({ SourceCidrIp: '10.0.0.0/8', SourceGroupId: '' });
    });

    it('refuses a change that would duplicate another rule', async () => {
      await authorize(ecs, 'sg-vpc', [ingress({ ipProtocol: 'TCP', portRange: '23/23', sourceCidrIp: '10.0.0.0/8' })]);
      const telnet = ruleWith(emu.rules('sg-vpc'), (r) => r.PortRange === '23/23');
      const err = await failure(modify({ securityGroupRuleId: telnet.SecurityGroupRuleId, portRange: '22/22' }));
      expect(err.code).to.equal('InvalidParam.DuplicatePermissions');
    });

    it('answers an unknown rule id with the same codes as revoke', async () => {
      const inErr = await failure(modify({ securityGroupRuleId: 'sgr-dns', description: 'x' }));
      expect(inErr.code).to.equal('InvalidParam.SecurityGroupRuleId');
      const outErr = await failure(ecs.modifySecurityGroupEgressRule(new $Ecs.ModifySecurityGroupEgressRuleRequest({ regionId: REGION, securityGroupId: 'sg-vpc', securityGroupRuleId: 'sgr-unknown', description: 'x' })));
      expect(outErr.code).to.equal('InvalidSecurityGroupRule.RuleNotExist');
    });
  });

  describe('rule identity switch', () => {
    const ssh = (priority: string) => ingress({ ipProtocol: 'TCP', portRange: '22/22', sourceCidrIp: '10.0.0.0/8', priority });
    const revokeSsh = (priority: string) =>
      ecs.revokeSecurityGroup(
        new $Ecs.RevokeSecurityGroupRequest({
          regionId: REGION,
          securityGroupId: 'sg-vpc',
          permissions: [new $Ecs.RevokeSecurityGroupRequestPermissions({ ipProtocol: 'TCP', portRange: '22/22', sourceCidrIp: '10.0.0.0/8', priority })],
        }),
      );

    it('without priority, a rule at another priority is the same rule: authorize is a no-op and revoke removes it', async () => {
      await authorize(ecs, 'sg-vpc', [ssh('50')]);
      expect(emu.rules('sg-vpc').filter((r) => r.PortRange === '22/22')).to.have.length(1);
      await revokeSsh('50');
      expect(emu.rules('sg-vpc').filter((r) => r.PortRange === '22/22')).to.have.length(0);
    });

    it('with priority, a rule at another priority is a distinct rule', async () => {
      emu.setIdentityIncludesPriority(true);
      await authorize(ecs, 'sg-vpc', [ssh('50')]);
      expect(emu.rules('sg-vpc').filter((r) => r.PortRange === '22/22').map((r) => r.Priority)).to.deep.equal([1, 50]);
      await revokeSsh('50');
      expect(emu.rules('sg-vpc').filter((r) => r.PortRange === '22/22').map((r) => r.SecurityGroupRuleId)).to.deep.equal(['sgr-ssh']);
      const dup = await failure(authorize(ecs, 'sg-vpc', [ssh('60'), ssh('60')]));
      expect(dup.code).to.equal('InvalidParam.DuplicatePermissions');
      await authorize(ecs, 'sg-vpc', [ssh('60'), ssh('61')]);
      expect(emu.rules('sg-vpc').filter((r) => r.PortRange === '22/22')).to.have.length(3);
    });
  });

  describe('ClientToken idempotency', () => {
    it('replays the first response for the same action and token without applying again', async () => {
      const perms = [ingress({ ipProtocol: 'TCP', portRange: '443/443', sourceCidrIp: '0.0.0.0/0' })];
      const first = await authorize(ecs, 'sg-vpc', perms, { clientToken: 'plan-abc-1' });
      await ecs.revokeSecurityGroup(new $Ecs.RevokeSecurityGroupRequest({ regionId: REGION, securityGroupId: 'sg-vpc', securityGroupRuleId: [ruleWith(emu.rules('sg-vpc'), (r) => r.PortRange === '443/443').SecurityGroupRuleId] }));
      const second = await authorize(ecs, 'sg-vpc', perms, { clientToken: 'plan-abc-1' });
      expect(second.body?.requestId).to.equal(first.body?.requestId);
      expect(emu.rules('sg-vpc').filter((r) => r.PortRange === '443/443')).to.have.length(0);
      const calls = emu.calls();
      expect(calls[2]).to.include({ action: 'AuthorizeSecurityGroup', clientToken: 'plan-abc-1', replay: true, applied: false, changed: false, status: 200 });
      expect(calls[2]?.requestId).not.to.equal(first.body?.requestId);
    });

    it('refuses the same token with different parameters with IdempotentParameterMismatch', async () => {
      await authorize(ecs, 'sg-vpc', [ingress({ ipProtocol: 'TCP', portRange: '443/443', sourceCidrIp: '0.0.0.0/0' })], { clientToken: 'tok' });
      const err = await failure(authorize(ecs, 'sg-vpc', [ingress({ ipProtocol: 'TCP', portRange: '444/444', sourceCidrIp: '0.0.0.0/0' })], { clientToken: 'tok' }));
      expect(err.code).to.equal('IdempotentParameterMismatch');
      expect(emu.rules('sg-vpc').filter((r) => r.PortRange === '444/444')).to.have.length(0);
    });
  });

  describe('fault injection', () => {
    const add = (port: number, extra: Record<string, string> = {}) => authorize(ecs, 'sg-vpc', [ingress({ ipProtocol: 'TCP', portRange: `${port}/${port}`, sourceCidrIp: '0.0.0.0/0' })], extra);
    const count = (port: number) => emu.rules('sg-vpc').filter((r) => r.PortRange === `${port}/${port}`).length;

    it('throttles every Nth mutating call with a ThrottlingError carrying retry-after, applying nothing', async () => {
      emu.setFaults({ throttleEveryNthMutating: 2 });
      await add(1001);
      await describeRules(ecs, 'sg-vpc');
      const err = await failure(add(1002));
      expect(err).to.be.instanceOf(ThrottlingError);
      expect(err.code).to.equal('Throttling.User');
      expect(err.statusCode).to.equal(400);
      expect(err.retryAfter).to.equal(50);
      expect(count(1002)).to.equal(0);
      await add(1003);
      expect(emu.calls().map((c) => c.fault ?? c.status)).to.deep.equal([200, 200, 'throttle', 200]);
      expect(emu.calls()[2]?.rulesAfter?.['sg-vpc']).to.have.length(5);
    });

    it('answers every Nth call with 503 ServiceUnavailable as a ServerError', async () => {
      emu.setFaults({ errorEveryNthCall: 3 });
      await describeRules(ecs, 'sg-vpc');
      await describeRules(ecs, 'sg-vpc');
      const err = await failure(add(1001));
      expect(err).to.be.instanceOf(ServerError);
      expect(err.code).to.equal('ServiceUnavailable');
      expect(err.statusCode).to.equal(503);
      expect(err.data).to.have.keys('RequestId', 'HostId', 'Code', 'Message', 'Recommend');
      expect(count(1001)).to.equal(0);
      expect(emu.calls()[2]).to.include({ fault: 'error', status: 503, applied: false });
    });

    it('drops every Nth call without an answer: a connection error, nothing applied', async () => {
      emu.setFaults({ dropEveryNthCall: 2 });
      await describeRules(ecs, 'sg-vpc');
      const err = await failure(add(1001));
      expect(err).not.to.be.instanceOf(AlibabaCloudError);
      expect(err.code).to.equal('ECONNRESET');
      expect(count(1001)).to.equal(0);
      expect(emu.calls()[1]).to.include({ fault: 'drop', status: 0, applied: false, action: 'AuthorizeSecurityGroup' });
      await add(1001);
      expect(count(1001)).to.equal(1);
    });

    it('applies a call and then drops its answer; the retry with the same ClientToken is not applied twice', async () => {
      emu.setFaults({ applyThenDropEveryNthMutating: 1 });
      const err = await failure(add(1001, { clientToken: 'lost-answer' }));
      expect(err.code).to.equal('ECONNRESET');
      expect(count(1001)).to.equal(1);
      emu.setFaults({});
      const retry = await add(1001, { clientToken: 'lost-answer' });
      expect(retry.statusCode).to.equal(200);
      expect(count(1001)).to.equal(1);
      expect(emu.calls().map((c) => [c.fault, c.applied, c.changed, c.replay])).to.deep.equal([
        ['applyThenDrop', true, true, undefined],
        [undefined, false, false, true],
      ]);
    });

    it('lets the SDK retry a 503 when the client configures retryOptions, re-signing each attempt', async () => {
      emu.setFaults({ errorEveryNthCall: 2 });
      const retrying = client(emu, {
        retryOptions: new $dara.RetryOptions({
          retryable: true,
          retryCondition: [{ maxAttempts: 2, exception: ['ServerError'], backoff: { policy: 'Fixed', period: 10 } }],
        }),
      });
      await describeRules(retrying, 'sg-vpc');
      const res = await describeRules(retrying, 'sg-vpc'); // call 2 gets a 503, the SDK's retry is call 3
      expect(res.statusCode).to.equal(200);
      expect(emu.calls().map((c) => c.status)).to.deep.equal([200, 503, 200]);
    });

    it('delays answers by latencyMs, which trips a client timeout shorter than that', async () => {
      emu.setFaults({ latencyMs: 1500 });
      const err = await failure(describeRules(client(emu, { readTimeout: 300, connectTimeout: 300 }), 'sg-vpc'));
      expect(err.name).to.equal('RequestTimeoutError');
      await waitFor(() => emu.calls().length === 1); // the late call still lands in the log
    });

    it('throttles beyond rateLimitPerSecond', async () => {
      emu.setFaults({ rateLimitPerSecond: 1 });
      await describeRules(ecs, 'sg-vpc');
      const err = await failure(describeRules(ecs, 'sg-vpc'));
      expect(err).to.be.instanceOf(ThrottlingError);
      expect(err.retryAfter).to.be.greaterThan(0);
      expect(emu.calls()[1]?.fault).to.equal('rateLimit');
    });

    it('draws probabilistic faults from a seeded PRNG, so a seed reproduces a run', async () => {
      const run = async (): Promise<string[]> => {
        emu.setFaults({ errorRate: 0.3, dropRate: 0.2, randomSeed: 42 });
        emu.clearCalls();
        for (let i = 0; i < 20; i++) await describeRules(ecs, 'sg-vpc').catch(() => undefined);
        return emu.calls().map((c) => c.fault ?? 'ok');
      };
      const first = await run();
      expect(await run()).to.deep.equal(first);
      expect(first).to.include.members(['ok', 'error', 'drop']);
    });
  });

  describe('call log', () => {
    it('records decoded parameters and, for mutating calls, the group\'s full rules after the call', async () => {
      await authorize(ecs, 'sg-vpc', [ingress({ ipProtocol: 'TCP', portRange: '443/443', sourceCidrIp: '0.0.0.0/0', description: "web (public) isn't *!" })], { clientToken: 'c-1' });
      await describeRules(ecs, 'sg-vpc');
      const [auth, read] = emu.calls();
      expect(auth).to.include({ seq: 1, action: 'AuthorizeSecurityGroup', mutating: true, applied: true, changed: true, clientToken: 'c-1' });
      expect(auth?.params['Permissions.1.Description']).to.equal("web (public) isn't *!");
      expect(auth?.time).to.match(/^\d{4}-\d{2}-\d{2}T/);
      const after = auth?.rulesAfter?.['sg-vpc'] ?? [];
      expect(after.map((r) => r.Direction)).to.include.members(['ingress', 'egress']);
      expect(after).to.deep.equal(emu.rules('sg-vpc'));
      expect(read).to.include({ seq: 2, mutating: false });
      expect(read?.rulesAfter).to.equal(undefined);
    });

    it('gives deep copies: changing what the emulator returned changes nothing inside it', () => {
      const rules = emu.rules('sg-vpc');
      const first = rules[0];
      if (first) first.Description = 'tampered';
      const group = emu.group(REGION, 'sg-vpc');
      expect(group?.rules[0]?.Description).to.equal('ssh');
      expect(emu.group(REGION, 'sg-shanghai')).to.equal(undefined);
    });
  });

  describe('seeds', () => {
    it('loads the demo seed: a damaged original, its backup with a self-reference, IPv6, a prefix list, ICMP and a system rule', () => {
      emu.loadSeedFile(DEMO_SEED);
      const backup = emu.group(REGION, 'sg-web-backup');
      expect(backup?.vpcId).to.equal(emu.group(REGION, 'sg-web-prod')?.vpcId);
      const rules = backup?.rules ?? [];
      expect(rules.some((r) => r.SourceGroupId === 'sg-web-backup')).to.equal(true);
      expect(rules.some((r) => r.Ipv6SourceCidrIp !== '')).to.equal(true);
      expect(rules.some((r) => r.SourcePrefixListId.startsWith('pl-') && r.SourcePrefixListName === 'office-networks')).to.equal(true);
      expect(rules.some((r) => r.IpProtocol === 'ICMP')).to.equal(true);
      expect(rules.filter((r) => r.Priority === 110)).to.have.length(1);
      expect(new Set(rules.map((r) => r.Direction))).to.deep.equal(new Set(['ingress', 'egress']));
      expect(emu.group(REGION, 'sg-legacy-classic')?.vpcId).to.equal('');
      expect(emu.group(REGION, 'sg-web-enterprise')?.type).to.equal('enterprise');
    });

    it('reports every problem of an invalid seed with its path', () => {
      let error: unknown;
      try {
        emu.seed({
          regions: {
            [REGION]: {
              securityGroups: [
                { id: 'sg-a', vpcId: 'vpc-1', rules: [{ direction: 'ingress', ipProtocol: 'TCPX', portRange: '1/1', sourceCidrIp: '1.1.1.1' }, { direction: 'sideways' }] },
                { id: 'sg-a' },
                { id: 'sg-b', type: 'enterprise', vpcId: 'vpc-1', rules: [{ direction: 'egress', ipProtocol: 'TCP', portRange: '1/1', destGroupId: 'sg-a' }] },
              ],
            },
          },
        });
      } catch (err) {
        error = err;
      }
      expect(error).to.be.instanceOf(SeedError);
      const problems = (error as SeedError).problems;
      expect(problems.some((p) => p.startsWith('regions.cn-hangzhou.securityGroups[0].rules[0]:') && p.includes('InvalidIpProtocol.ValueNotSupported'))).to.equal(true);
      expect(problems.some((p) => p.startsWith('regions.cn-hangzhou.securityGroups[0].rules[1].direction:'))).to.equal(true);
      expect(problems.some((p) => p.startsWith('regions.cn-hangzhou.securityGroups[1].id:'))).to.equal(true);
      expect(problems.some((p) => p.startsWith('regions.cn-hangzhou.securityGroups[2].rules[0]:') && p.includes('InvalidGroupAuthParameter.OperationDenied'))).to.equal(true);
      // A failed seed leaves the previous state in place.
      expect(emu.rules('sg-vpc')).to.have.length(4);
    });
  });
});

describe('standalone ECS emulator (npm run emulator)', () => {
  it('prints its endpoint and credentials, serves the seed, and stops cleanly on SIGTERM', async () => {
    const child = spawn(process.execPath, [`${ROOT}test/emulator/main.ts`, '--seed', DEMO_SEED, '--port', '0', '--page-cap', '3'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let out = '';
      const endpoint = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const m = /^endpoint=http:\/\/(127\.0\.0\.1:\d+)$/m.exec(out);
          if (m?.[1]) resolve(m[1]);
        });
        child.once('exit', (code) => reject(new Error(`emulator exited with ${code}: ${out}`)));
      });
      expect(out).to.match(/SGRESTORE_ECS_ENDPOINT=http:\/\/127\.0\.0\.1:\d+ ALIBABA_CLOUD_ACCESS_KEY_ID=test-ak ALIBABA_CLOUD_ACCESS_KEY_SECRET=test-secret/);
      const sdk = new Ecs(new $OpenApiUtil.Config({ accessKeyId: 'test-ak', accessKeySecret: 'test-secret', endpoint, protocol: 'http', readTimeout: 10000, connectTimeout: 10000 }));
      const res = await sdk.describeSecurityGroupAttribute(new $Ecs.DescribeSecurityGroupAttributeRequest({ regionId: REGION, securityGroupId: 'sg-web-backup' }));
      expect(res.body?.permissions?.permission).to.have.length(3);
      expect(res.body?.nextToken).to.not.equal('');
    } finally {
      const exited = new Promise<number | null>((resolve) => {
        if (child.exitCode !== null) resolve(child.exitCode);
        else child.once('exit', (code) => resolve(code));
      });
      child.kill('SIGTERM');
      expect(await exited).to.equal(0);
    }
  });
});
