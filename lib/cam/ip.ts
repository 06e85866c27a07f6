/**
 * IP addresses and CIDR ranges, for `ip_equal` / `ip_not_equal` on `qcs:ip` and for the
 * source-IP pin. IPv4-mapped IPv6 (`::ffff:1.2.3.4`, what Node reports for IPv4 clients on
 * a dual-stack socket) counts as the IPv4 address; otherwise families never match each other.
 */
import { isIPv4, isIPv6 } from "node:net";

interface Address {
  readonly v4: boolean;
  /** 16 bytes; an IPv4 address sits in the last 4. */
  readonly bytes: Uint8Array;
}

export function parseIp(text: string): Address | undefined {
  const plain = text.trim();
  if (isIPv4(plain)) return { v4: true, bytes: mapped(plain) };
  const unzoned = plain.replace(/%.*$/, "");
  if (!isIPv6(unzoned)) return undefined;
  const bytes = ipv6Bytes(unzoned);
  const v4 = bytes.subarray(0, 10).every((byte) => byte === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  return { v4, bytes };
}

/** The address in its usual text form (IPv4 for mapped addresses), or undefined if it is not one. */
export function canonicalIp(text: string): string | undefined {
  const address = parseIp(text);
  if (!address) return undefined;
  if (address.v4) return [...address.bytes.subarray(12)].join(".");
  const groups = Array.from({ length: 8 }, (_, i) => ((address.bytes[2 * i]! << 8) | address.bytes[2 * i + 1]!).toString(16));
  // Node formats IPv6 canonically (RFC 5952) through the URL parser.
  return new URL(`http://[${groups.join(":")}]/`).hostname.slice(1, -1);
}

/** `range` is an address or `address/bits`; false when either side is malformed. */
export function ipInRange(ip: string, range: string): boolean {
  const address = parseIp(ip);
  const [base = "", bitsText, extra] = range.split("/");
  const network = parseIp(base);
  if (!address || !network || extra !== undefined || address.v4 !== network.v4) return false;
  const max = network.v4 ? 32 : 128;
  const bits = bitsText === undefined ? max : /^\d{1,3}$/.test(bitsText) ? Number(bitsText) : Number.NaN;
  if (!(bits >= 0 && bits <= max)) return false;
  return samePrefix(address.bytes, network.bytes, bits + (network.v4 ? 96 : 0));
}

function samePrefix(a: Uint8Array, b: Uint8Array, bits: number): boolean {
  for (let i = 0; i < 16 && bits > 0; i += 1, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((a[i]! & mask) !== (b[i]! & mask)) return false;
  }
  return true;
}

function mapped(ipv4: string): Uint8Array {
  const bytes = new Uint8Array(16);
  bytes[10] = 0xff;
  bytes[11] = 0xff;
  ipv4.split(".").forEach((part, i) => {
    bytes[12 + i] = Number(part);
  });
  return bytes;
}

/** Expands `::` and a trailing dotted IPv4 part; the text has passed isIPv6 already. */
function ipv6Bytes(text: string): Uint8Array {
  let hex = text;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)?.[1];
  if (dotted) {
    const v4 = mapped(dotted).subarray(12);
    hex = `${text.slice(0, -dotted.length)}${((v4[0]! << 8) | v4[1]!).toString(16)}:${((v4[2]! << 8) | v4[3]!).toString(16)}`;
  }
  const [head = "", tail] = hex.split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill("0"), ...right];
  const bytes = new Uint8Array(16);
  groups.forEach((group, i) => {
    const value = parseInt(group, 16);
    bytes[2 * i] = value >> 8;
    bytes[2 * i + 1] = value & 0xff;
  });
  return bytes;
}
