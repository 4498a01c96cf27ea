/**
 * Axon IP addresses as the chain stores them: a u128 integer plus an IP type (4 or 6).
 *
 * ```ts
 * encodeIp("1.2.3.4"); // { value: 16909060n, ipType: 4 }
 * decodeIp(16909060n); // "1.2.3.4"
 * ```
 * @module
 */
import { isIPv4, isIPv6 } from "node:net";

/** An IP address in the chain's integer form. */
export interface EncodedIp {
  value: bigint;
  ipType: 4 | 6;
}

/** Encodes a dotted IPv4 or an IPv6 address as its big-endian integer. */
export function encodeIp(ip: string): EncodedIp {
  if (isIPv4(ip)) {
    const value = ip.split(".").reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
    return { value, ipType: 4 };
  }
  if (isIPv6(ip)) return { value: ipv6ToBigInt(ip), ipType: 6 };
  throw new RangeError(`ip: "${ip}" is not an IPv4 or IPv6 address`);
}

function ipv6ToBigInt(ip: string): bigint {
  let text = ip;
  // An embedded dotted IPv4 tail (::ffff:1.2.3.4) becomes two hex groups.
  const dotted = text.match(/(\d+\.\d+\.\d+\.\d+)$/);
  if (dotted) {
    const v4 = encodeIp(dotted[1]).value;
    text = text.slice(0, -dotted[1].length) +
      `${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head, tail] = text.includes("::") ? text.split("::") : [text, undefined];
  const headGroups = head === "" ? [] : head.split(":");
  const tailGroups = tail === undefined || tail === "" ? [] : tail.split(":");
  const zeros = tail === undefined ? 0 : 8 - headGroups.length - tailGroups.length;
  const groups = [...headGroups, ...Array(zeros).fill("0"), ...tailGroups];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

/**
 * Decodes the chain's integer back to text. Like the SDK (`netaddr.IPAddress(int)`), any value
 * below 2^32 reads as IPv4 whatever the stored type; IPv6 is printed in RFC 5952 form, with an
 * IPv4-mapped address as `::ffff:a.b.c.d`.
 */
export function decodeIp(value: bigint): string {
  if (value < 0n || value >= 1n << 128n) throw new RangeError(`ip integer ${value} out of range`);
  if (value < 1n << 32n) {
    return [24n, 16n, 8n, 0n].map((shift) => ((value >> shift) & 0xffn).toString()).join(".");
  }
  if (value >> 32n === 0xffffn) return `::ffff:${decodeIp(value & 0xffffffffn)}`;
  const groups = Array.from({ length: 8 }, (_, i) => (value >> BigInt(112 - 16 * i)) & 0xffffn);
  // Compress the longest run (first one on a tie) of two or more zero groups.
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0n) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0n) j++;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLength).join(":")}`;
}

const IPV6_ALL_ONES = (1n << 128n) - 1n;

/**
 * Why the chain's `is_valid_ip_address` refuses an axon address (it accepts all others, private
 * ranges and 0 included), or undefined when it accepts it.
 */
export function chainRefusal(ip: EncodedIp): string | undefined {
  if (ip.ipType === 4) {
    if (ip.value === 0x7f000001n) return "127.0.0.1 is refused by the chain";
    if (ip.value >= 0xffffffffn) return "255.255.255.255 is refused by the chain";
  } else {
    if (ip.value === 1n) return "::1 is refused by the chain";
    if (ip.value === IPV6_ALL_ONES) return "the all-ones IPv6 address is refused by the chain";
  }
  return undefined;
}
