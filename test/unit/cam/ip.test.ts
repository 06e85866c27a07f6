import { describe, expect, it } from "vitest";
import { canonicalIp, ipInRange, parseIp } from "../../../lib/cam/ip.ts";

describe("parseIp", () => {
  it.each(["1.2.3.4", "::1", "2001:db8::1", "::ffff:1.2.3.4", "fe80::1%eth0", "::", "2001:db8:0:0:0:0:2:1"])("reads %s", (text) => {
    expect(parseIp(text)).toBeDefined();
  });

  it.each(["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "gggg::1", "1::2::3", "localhost", "1.2.3.4/24"])("refuses %j", (text) => {
    expect(parseIp(text)).toBeUndefined();
  });

  it("treats IPv4-mapped IPv6 as IPv4", () => {
    expect(parseIp("::ffff:10.0.0.1")).toEqual(parseIp("10.0.0.1"));
    expect(parseIp("::ffff:a00:1")?.v4).toBe(true);
    expect(parseIp("::10.0.0.1")?.v4).toBe(false);
  });
});

describe("ipInRange", () => {
  it.each([
    ["10.1.2.3", "10.0.0.0/8", true],
    ["11.1.2.3", "10.0.0.0/8", false],
    ["10.1.2.3", "10.1.2.3", true],
    ["10.1.2.3", "10.1.2.3/32", true],
    ["10.1.2.3", "0.0.0.0/0", true],
    ["10.1.2.3", "10.1.2.0/31", false],
    ["10.1.2.129", "10.1.2.128/25", true],
    ["10.1.2.127", "10.1.2.128/25", false],
    ["::ffff:10.1.2.3", "10.0.0.0/8", true],
    ["2001:db8::5", "2001:db8::/32", true],
    ["2001:db8::5", "2001:db8::4/127", true],
    ["2001:db8::6", "2001:db8::4/127", false],
    ["2001:db8::5", "::/0", true],
    ["10.1.2.3", "::/0", false],
    ["10.1.2.3", "10.0.0.0/", false],
    ["10.1.2.3", "10.0.0.0/8/8", false],
    ["10.1.2.3", "10.0.0.0/-1", false],
    ["10.1.2.3", "10.0.0.0/x", false],
    ["junk", "0.0.0.0/0", false],
  ])("%s in %s -> %s", (ip, range, expected) => {
    expect(ipInRange(ip, range)).toBe(expected);
  });
});

describe("canonicalIp", () => {
  it.each([
    ["203.0.113.7", "203.0.113.7"],
    [" 203.0.113.7 ", "203.0.113.7"],
    ["::ffff:203.0.113.7", "203.0.113.7"],
    ["2001:0DB8:0:0:0:0:0:1", "2001:db8::1"],
    ["fe80::1%eth0", "fe80::1"],
    ["::", "::"],
  ])("writes %j as %j", (text, canonical) => {
    expect(canonicalIp(text)).toBe(canonical);
  });

  it.each(["", "unknown", "203.0.113.7, 10.0.0.1", "1.2.3.4:80"])("has no canonical form for %j", (text) => {
    expect(canonicalIp(text)).toBeUndefined();
  });
});
