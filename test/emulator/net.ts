// CIDR parsing for the emulator. Values are stored as the client sent them; identity compares the canonical form
// (a bare address equals its /32 or /128; IPv6 compressed lower-case; host bits kept).
import { isIPv6 } from 'node:net';

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/;

/** `10.0.0.1` → `10.0.0.1/32`; undefined when not an IPv4 address or CIDR block. */
export function canonicalIpv4Cidr(text: string): string | undefined {
  const m = IPV4.exec(text.trim());
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  if (octets.some((o) => o > 255)) return undefined;
  const prefix = m[5] === undefined ? 32 : Number(m[5]);
  if (prefix > 32) return undefined;
  return `${octets.join('.')}/${prefix}`;
}

/** `2001:DB8:0:0::1` → `2001:db8::1/128`; undefined when not an IPv6 address or CIDR block. */
export function canonicalIpv6Cidr(text: string): string | undefined {
  const trimmed = text.trim();
  const slash = trimmed.indexOf('/');
  const address = slash < 0 ? trimmed : trimmed.slice(0, slash);
  const prefixText = slash < 0 ? '128' : trimmed.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (prefix > 128 || address.includes('%') || !isIPv6(address)) return undefined;
  // The WHATWG URL serializer prints IPv6 hosts in RFC 5952 form (lower-case, longest zero run compressed).
  const host = new URL(`http://[${address}]/`).hostname;
  return `${host.slice(1, -1)}/${prefix}`;
}
