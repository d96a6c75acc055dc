import { expect } from 'chai';
import { normalizeIpv4Cidr, normalizeIpv6Cidr } from '../../../src/rules/ip.ts';

describe('IP normalization', () => {
  it('treats a bare IPv4 address as its /32', () => {
    expect(normalizeIpv4Cidr('10.0.0.1')).to.deep.equal({ ok: true, cidr: '10.0.0.1/32' });
    expect(normalizeIpv4Cidr(' 10.0.0.0/8 ')).to.deep.equal({ ok: true, cidr: '10.0.0.0/8' });
  });

  it('rejects malformed IPv4 CIDRs', () => {
    for (const bad of ['10.0.0', '256.0.0.1', '10.0.0.1/33', '10.0.0.01', '10.0.0.1/8/8', 'a.b.c.d', '']) {
      expect(normalizeIpv4Cidr(bad).ok, bad).to.equal(false);
    }
  });

  it('writes IPv6 in canonical compressed lower-case form', () => {
    expect(normalizeIpv6Cidr('2001:DB8:0:0:0:0:0:1')).to.deep.equal({ ok: true, cidr: '2001:db8::1/128' });
    expect(normalizeIpv6Cidr('2001:0db8:0000:0000:0001:0000:0000:0000/64')).to.deep.equal({ ok: true, cidr: '2001:db8:0:0:1::/64' });
    expect(normalizeIpv6Cidr('::/0')).to.deep.equal({ ok: true, cidr: '::/0' });
    expect(normalizeIpv6Cidr('::ffff:10.0.0.1')).to.deep.equal({ ok: true, cidr: '::ffff:a00:1/128' });
    expect(normalizeIpv6Cidr('2001:db8:0:1:1:1:1:1')).to.deep.equal({ ok: true, cidr: '2001:db8:0:1:1:1:1:1/128' });
  });

  it('rejects malformed IPv6 CIDRs', () => {
    for (const bad of ['2001:db8::1::1', '2001:db8:::1', '12345::', '2001:db8::/129', '10.0.0.1', 'g::1', '1:2:3:4:5:6:7:8:9']) {
      expect(normalizeIpv6Cidr(bad).ok, bad).to.equal(false);
    }
  });
});
