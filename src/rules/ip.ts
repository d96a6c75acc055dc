// Canonical text forms of IPv4 and IPv6 CIDRs, so that two spellings of the same address compare equal.
// ECS keeps host bits as given (Terraform's matcher does too), so we do not mask them.

export type CidrResult = { readonly ok: true; readonly cidr: string } | { readonly ok: false; readonly reason: string };

const IPV4_OCTET = /^(0|[1-9][0-9]{0,2})$/;

function parseIpv4Octets(text: string): number[] | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const octets: number[] = [];
  for (const part of parts) {
    if (!IPV4_OCTET.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    octets.push(n);
  }
  return octets;
}

function parsePrefix(text: string | undefined, max: number): number | undefined {
  if (text === undefined) return max;
  if (!/^(0|[1-9][0-9]{0,2})$/.test(text)) return undefined;
  const n = Number(text);
  return n <= max ? n : undefined;
}

/** `10.0.0.1` → `10.0.0.1/32`; `10.0.0.0/8` stays. Rejects anything that is not a dotted quad with an optional /0–32. */
export function normalizeIpv4Cidr(input: string): CidrResult {
  const text = input.trim();
  const [addr, prefixText, extra] = text.split('/');
  if (extra !== undefined || addr === undefined) return { ok: false, reason: `"${input}" is not an IPv4 CIDR` };
  const octets = parseIpv4Octets(addr);
  const prefix = parsePrefix(prefixText, 32);
  if (!octets || prefix === undefined) return { ok: false, reason: `"${input}" is not an IPv4 CIDR` };
  return { ok: true, cidr: `${octets.join('.')}/${prefix}` };
}

function parseIpv6Groups(addr: string): number[] | undefined {
  let text = addr.toLowerCase();
  // An embedded IPv4 tail (::ffff:10.0.0.1) becomes two hex groups.
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.')) {
    const v4 = parseIpv4Octets(text.slice(lastColon + 1));
    if (!v4) return undefined;
    const hi = (((v4[0] ?? 0) << 8) | (v4[1] ?? 0)).toString(16);
    const lo = (((v4[2] ?? 0) << 8) | (v4[3] ?? 0)).toString(16);
    text = `${text.slice(0, lastColon + 1)}${hi}:${lo}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parseHalf = (half: string): number[] | undefined => {
    if (half === '') return [];
    const groups: number[] = [];
    for (const g of half.split(':')) {
      if (!/^[0-9a-f]{1,4}$/.test(g)) return undefined;
      groups.push(parseInt(g, 16));
    }
    return groups;
  };
  const head = parseHalf(halves[0] ?? '');
  const tail = halves.length === 2 ? parseHalf(halves[1] ?? '') : [];
  if (!head || !tail) return undefined;
  if (halves.length === 1) return head.length === 8 ? head : undefined;
  const missing = 8 - head.length - tail.length;
  if (missing < 1) return undefined;
  return [...head, ...new Array<number>(missing).fill(0), ...tail];
}

/** RFC 5952 text: lower case, no leading zeros, the longest run (≥ 2) of zero groups as `::`. */
function formatIpv6(groups: readonly number[]): string {
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < groups.length; ) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < groups.length && groups[j] === 0) j++;
    if (j - i > bestLen) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestLen < 2) return hex.join(':');
  const head = hex.slice(0, bestStart).join(':');
  const tail = hex.slice(bestStart + bestLen).join(':');
  return `${head}::${tail}`;
}

/** `2001:DB8:0:0::1` → `2001:db8::1/128`; prefixes 0–128. */
export function normalizeIpv6Cidr(input: string): CidrResult {
  const text = input.trim();
  const [addr, prefixText, extra] = text.split('/');
  if (extra !== undefined || addr === undefined || !addr.includes(':')) {
    return { ok: false, reason: `"${input}" is not an IPv6 CIDR` };
  }
  const groups = parseIpv6Groups(addr);
  const prefix = parsePrefix(prefixText, 128);
  if (!groups || prefix === undefined) return { ok: false, reason: `"${input}" is not an IPv6 CIDR` };
  return { ok: true, cidr: `${formatIpv6(groups)}/${prefix}` };
}
