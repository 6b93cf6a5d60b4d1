/**
 * IPv4 and IPv6 text forms and their generalization to a network prefix (spec/minimization.md
 * §generalization): IPv4 dotted quads (RFC 791, no leading zeros), IPv6 per RFC 4291 §2.2 with
 * `::` and an embedded dotted quad, printed back in the RFC 5952 canonical form. A value with a
 * prefix (`198.51.100.0/24`) generalizes to the shorter of its own prefix and the target.
 * Pure; no node:net (core does no I/O and imports no network module).
 */

export type IpVersion = 4 | 6;

export interface IpNetwork {
  readonly version: IpVersion;
  /** Four bytes for IPv4, eight 16-bit groups for IPv6. */
  readonly parts: readonly number[];
  /** The prefix length, or undefined for a single address. */
  readonly prefix: number | undefined;
}

const V4_OCTET = /^(?:0|[1-9]\d{0,2})$/;

export function parseIpv4(s: string): number[] | undefined {
  const octets = s.split(".");
  if (octets.length !== 4) return undefined;
  const out: number[] = [];
  for (const o of octets) {
    if (!V4_OCTET.test(o)) return undefined;
    const n = Number(o);
    if (n > 255) return undefined;
    out.push(n);
  }
  return out;
}

const V6_GROUP = /^[0-9a-fA-F]{1,4}$/;

export function parseIpv6(s: string): number[] | undefined {
  if (s.length < 2 || s.length > 45) return undefined;
  const halves = s.split("::");
  if (halves.length > 2) return undefined;
  const groupsOf = (part: string, allowV4: boolean): number[] | undefined => {
    if (part === "") return [];
    const out: number[] = [];
    const items = part.split(":");
    for (let i = 0; i < items.length; i++) {
      const item = items[i] ?? "";
      if (allowV4 && i === items.length - 1 && item.includes(".")) {
        const v4 = parseIpv4(item);
        if (v4 === undefined) return undefined;
        out.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
      } else {
        if (!V6_GROUP.test(item)) return undefined;
        out.push(parseInt(item, 16));
      }
    }
    return out;
  };
  if (halves.length === 1) {
    const g = groupsOf(s, true);
    return g?.length === 8 ? g : undefined;
  }
  const head = groupsOf(halves[0] ?? "", false);
  const tail = groupsOf(halves[1] ?? "", true);
  if (head === undefined || tail === undefined || head.length + tail.length > 7) return undefined;
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}

/** An address or CIDR network of either version, or undefined. */
export function parseIp(s: string): IpNetwork | undefined {
  const slash = s.indexOf("/");
  const addr = slash < 0 ? s : s.slice(0, slash);
  let prefix: number | undefined;
  if (slash >= 0) {
    const p = s.slice(slash + 1);
    if (!/^(?:0|[1-9]\d{0,2})$/.test(p)) return undefined;
    prefix = Number(p);
  }
  const v4 = parseIpv4(addr);
  if (v4 !== undefined)
    return prefix === undefined || prefix <= 32 ? { version: 4, parts: v4, prefix } : undefined;
  const v6 = addr.includes(":") ? parseIpv6(addr) : undefined;
  if (v6 !== undefined)
    return prefix === undefined || prefix <= 128 ? { version: 6, parts: v6, prefix } : undefined;
  return undefined;
}

/** RFC 5952 §4: lower case, no leading zeros, the longest run (≥ 2) of zero groups as `::`. */
export function formatIpv6(groups: readonly number[]): string {
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLen).join(":")}`;
}

/** Zero the host bits past `prefix` and print `address/prefix`; a shorter own prefix is kept. */
export function generalizeIp(net: IpNetwork, v4Prefix: number, v6Prefix: number): string {
  const bitsPer = net.version === 4 ? 8 : 16;
  const target = net.version === 4 ? v4Prefix : v6Prefix;
  const prefix = Math.min(net.prefix ?? Infinity, target);
  const parts = net.parts.map((p, i) => {
    const start = i * bitsPer;
    if (start >= prefix) return 0;
    const keep = prefix - start;
    if (keep >= bitsPer) return p;
    const mask = ((1 << bitsPer) - 1) ^ ((1 << (bitsPer - keep)) - 1);
    return p & mask;
  });
  const addr = net.version === 4 ? parts.join(".") : formatIpv6(parts);
  return `${addr}/${String(prefix)}`;
}
