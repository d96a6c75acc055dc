import { expect } from 'chai';
import { parsePermission } from '../../../src/rules/rule.ts';
import type { Rule } from '../../../src/rules/rule.ts';
import { renderRule, ruleKey } from '../../../src/rules/identity.ts';
import { toPermissionRequest } from '../../../src/rules/permission.ts';

const vpc = { networkType: 'vpc' } as const;
const classic = { networkType: 'classic' } as const;

function parsed(p: Parameters<typeof parsePermission>[0], ctx: Parameters<typeof parsePermission>[1] = vpc): Rule {
  const result = parsePermission(p, ctx);
  if (!result.ok) throw new Error(result.reason);
  return result.rule;
}

describe('parsePermission', () => {
  it('normalizes casing, empty strings and bare addresses as ECS returns them', () => {
    const rule = parsed({
      securityGroupRuleId: 'sgr-1', direction: 'ingress', ipProtocol: 'tcp', portRange: '22/22', sourceCidrIp: '10.0.0.1',
      destCidrIp: '', ipv6SourceCidrIp: '', sourceGroupId: '', policy: 'Accept', priority: '1', nicType: 'intranet', description: '',
    });
    expect(rule).to.deep.equal({ ruleId: 'sgr-1', direction: 'ingress', protocol: 'TCP', portRange: '22/22', peer: { kind: 'ipv4', cidr: '10.0.0.1/32' }, policy: 'accept', priority: 1, nicType: 'intranet' });
  });

  it('uses -1/-1 for protocols without ports and maps IANA numbers to names', () => {
    expect(parsed({ direction: 'egress', ipProtocol: 'ICMP', portRange: '-1/-1', destCidrIp: '0.0.0.0/0' }).portRange).to.equal('-1/-1');
    expect(parsed({ direction: 'egress', ipProtocol: 'gre', portRange: '', destCidrIp: '0.0.0.0/0' }).portRange).to.equal('-1/-1');
    expect(parsed({ direction: 'egress', ipProtocol: 'ICMPv6', portRange: '-1/-1', ipv6DestCidrIp: '::/0' }).protocol).to.equal('ICMPV6');
    const six = parsed({ direction: 'ingress', ipProtocol: '6', portRange: '80/80', sourceCidrIp: '0.0.0.0/0' });
    const tcp = parsed({ direction: 'ingress', ipProtocol: 'TCP', portRange: '80/80', sourceCidrIp: '0.0.0.0/0' });
    expect(ruleKey(six)).to.equal(ruleKey(tcp));
  });

  it('rejects invalid port ranges with the field named', () => {
    const bad = parsePermission({ direction: 'ingress', ipProtocol: 'TCP', portRange: '200/1', sourceCidrIp: '0.0.0.0/0' }, vpc);
    expect(bad).to.deep.include({ ok: false });
    expect(!bad.ok && bad.reason).to.match(/PortRange "200\/1"/);
    expect(parsePermission({ direction: 'ingress', ipProtocol: 'UDP', portRange: '0/70000', sourceCidrIp: '0.0.0.0/0' }, vpc).ok).to.equal(false);
    expect(parsePermission({ direction: 'ingress', ipProtocol: 'TCP', portRange: '22', sourceCidrIp: '0.0.0.0/0' }, vpc).ok).to.equal(false);
  });

  it('requires exactly one peer and follows ECS precedence when several are given', () => {
    const none = parsePermission({ direction: 'ingress', ipProtocol: 'TCP', portRange: '22/22' }, vpc);
    expect(!none.ok && none.reason).to.match(/SourceCidrIp, Ipv6SourceCidrIp, SourceGroupId or SourcePrefixListId/);
    const both = parsed({ direction: 'ingress', ipProtocol: 'TCP', portRange: '22/22', sourceCidrIp: '10.0.0.0/8', sourceGroupId: 'sg-x' });
    expect(both.peer).to.deep.equal({ kind: 'ipv4', cidr: '10.0.0.0/8' });
  });

  it('reads the four kinds of peer of an egress rule from the Dest fields', () => {
    expect(parsed({ direction: 'egress', ipProtocol: 'ALL', destGroupId: 'sg-b', destGroupOwnerAccount: '123' }).peer).to.deep.equal({ kind: 'group', groupId: 'sg-b', ownerAccount: '123' });
    expect(parsed({ direction: 'egress', ipProtocol: 'ALL', destPrefixListId: 'pl-1' }).peer).to.deep.equal({ kind: 'prefixList', prefixListId: 'pl-1' });
    expect(parsed({ direction: 'egress', ipProtocol: 'ALL', ipv6DestCidrIp: '2001:DB8::0/32' }).peer).to.deep.equal({ kind: 'ipv6', cidr: '2001:db8::/32' });
  });

  it('keeps NicType for classic groups and forces intranet in a VPC', () => {
    const p = { direction: 'ingress', ipProtocol: 'TCP', portRange: '80/80', sourceCidrIp: '0.0.0.0/0', nicType: 'internet' };
    expect(parsed(p, classic).nicType).to.equal('internet');
    expect(parsed(p, vpc).nicType).to.equal('intranet');
    expect(ruleKey(parsed(p, classic))).to.not.equal(ruleKey(parsed({ ...p, nicType: 'intranet' }, classic)));
  });

  it('accepts priority 110 (system rules) but nothing else outside 1-100', () => {
    expect(parsed({ direction: 'ingress', ipProtocol: 'ALL', sourceCidrIp: '0.0.0.0/0', priority: 110 }).priority).to.equal(110);
    expect(parsePermission({ direction: 'ingress', ipProtocol: 'ALL', sourceCidrIp: '0.0.0.0/0', priority: '101' }, vpc).ok).to.equal(false);
    expect(parsePermission({ direction: 'ingress', ipProtocol: 'ALL', sourceCidrIp: '0.0.0.0/0', priority: '0' }, vpc).ok).to.equal(false);
  });

  it('leaves priority and description out of the identity key', () => {
    const a = parsed({ direction: 'ingress', ipProtocol: 'TCP', portRange: '22/22', sourceCidrIp: '10.0.0.0/8', priority: '1', description: 'a' });
    const b = parsed({ direction: 'ingress', ipProtocol: 'TCP', portRange: '22/22', sourceCidrIp: '10.0.0.0/8', priority: '7', description: 'b' });
    expect(ruleKey(a)).to.equal(ruleKey(b));
    expect(ruleKey(a)).to.not.equal(ruleKey({ ...a, policy: 'drop' }));
  });

  it('round-trips through the Authorize request fields', () => {
    const rule = parsed({ direction: 'egress', ipProtocol: 'TCP', portRange: '443/443', destGroupId: 'sg-b', destGroupOwnerAccount: '1234567890', policy: 'drop', priority: '5', description: 'x' });
    const request = toPermissionRequest(rule);
    expect(request).to.deep.include({ ipProtocol: 'TCP', portRange: '443/443', destGroupId: 'sg-b', destGroupOwnerId: 1234567890, policy: 'drop', priority: '5', description: 'x', nicType: 'intranet' });
    const back = parsed({ direction: 'egress', ...request, destGroupOwnerAccount: String(request.destGroupOwnerId) });
    expect(back).to.deep.equal(rule);
    expect(renderRule(rule)).to.equal('egress drop TCP 443/443 to sg-b (account 1234567890) priority 5 "x"');
  });
});
