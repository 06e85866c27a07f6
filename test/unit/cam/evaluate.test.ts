import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type EvaluationRequest, evaluatePolicy, matchWildcard } from "../../../lib/cam/evaluate.ts";
import type { CamPolicy, CamStatement } from "../../../lib/cam/policy.ts";

const ROOT = "qcs::cos:ap-guangzhou:uid/1250000000:examplebucket-1250000000/";
const res = (key: string) => `${ROOT}${key}`;
const policy = (...statement: CamStatement[]): CamPolicy => ({ version: "2.0", statement });
const allow = (action: string[], resource: string[], condition?: CamStatement["condition"]): CamStatement => ({
  effect: "allow",
  action,
  resource,
  ...(condition ? { condition } : {}),
});
const deny = (action: string[], resource: string[], condition?: CamStatement["condition"]): CamStatement => ({
  effect: "deny",
  action,
  resource,
  ...(condition ? { condition } : {}),
});
const put = (key: string, context?: EvaluationRequest["context"]): EvaluationRequest => ({ action: "name/cos:PutObject", resource: res(key), context });

describe("evaluatePolicy: actions and resources", () => {
  const alice = policy(allow(["name/cos:PutObject"], [res("users/alice/*")]));

  it("allows a listed action on a key under the resource pattern, naming the statement", () => {
    expect(evaluatePolicy(alice, put("users/alice/a.png"))).toEqual({
      allowed: true,
      effect: "allow",
      statementIndex: 0,
      reason: "statement 0 allows name/cos:PutObject on users/alice/*",
    });
  });

  it.each([
    ["another user's key", put("users/bob/a.png")],
    ["a sibling whose name starts alike", put("users/alice1/a.png")],
    ["the prefix itself without slash", put("users/alice")],
    ["another bucket", { action: "name/cos:PutObject", resource: "qcs::cos:ap-guangzhou:uid/1250000000:otherbucket-1250000000/users/alice/a" }],
    ["another region", { action: "name/cos:PutObject", resource: res("users/alice/a").replace("ap-guangzhou", "ap-beijing") }],
    ["an action not listed", { action: "name/cos:GetObject", resource: res("users/alice/a.png") }],
    ["an action in another case", { action: "name/cos:putobject", resource: res("users/alice/a.png") }],
  ])("denies by default: %s", (_why, request) => {
    const verdict = evaluatePolicy(alice, request);
    expect(verdict).toMatchObject({ allowed: false, effect: "default-deny" });
    expect(verdict.statementIndex).toBeUndefined();
    expect(verdict.reason).toMatch(/^no statement allows /);
  });

  it.each([
    ["*", true],
    ["name/cos:*", true],
    ["name/cos:Put*", true],
    ["name/cos:Get*", false],
    ["name/cvm:*", false],
    ["name/cos:PutObject", true],
    ["name/cos:PutObjectACL", false],
  ])("matches action pattern %s: %s", (pattern, expected) => {
    expect(evaluatePolicy(policy(allow([pattern], [res("*")])), put("x")).allowed).toBe(expected);
  });

  it.each([
    ["*", "users/alice/a", true],
    [res("*"), "anything/at/all", true],
    [res("users/*/avatar.png"), "users/bob/avatar.png", true],
    [res("users/*/avatar.png"), "users/bob/avatar.jpg", false],
    [res("users/alice/avatar.*"), "users/alice/avatar.png", true],
    [res("users/alice/avatar.*"), "users/alice/photos/avatar.png", false],
    [res("users/alice/a.png"), "users/alice/a.png", true],
    [res("users/alice/a.png"), "users/alice/a.png.exe", false],
    [res("users/alice/a?png"), "users/alice/a.png", false],
  ])("matches resource pattern %s against %s: %s", (pattern, key, expected) => {
    expect(evaluatePolicy(policy(allow(["name/cos:PutObject"], [pattern])), put(key)).allowed).toBe(expected);
  });

  it("accepts a single string for action and resource, as CAM's grammar does", () => {
    const loose = { version: "2.0", statement: [{ effect: "Allow", action: "name/cos:PutObject", resource: res("users/alice/*") }] } as unknown as CamPolicy;
    expect(evaluatePolicy(loose, put("users/alice/x")).allowed).toBe(true);
  });

  it("ignores statements it cannot read and denies an unreadable policy", () => {
    const odd = {
      version: "2.0",
      statement: [null, { effect: "maybe", action: ["*"], resource: ["*"] }, { effect: "allow", action: [7], resource: ["*"] }],
    } as unknown as CamPolicy;
    expect(evaluatePolicy(odd, put("x")).effect).toBe("default-deny");
    expect(evaluatePolicy({} as CamPolicy, put("x")).effect).toBe("default-deny");
    expect(evaluatePolicy(null as unknown as CamPolicy, put("x")).effect).toBe("default-deny");
  });

  it("lets an explicit deny win wherever it stands", () => {
    const denyBob = deny(["name/cos:*"], [res("users/bob/*")]);
    const open = allow(["*"], ["*"]);
    for (const document of [policy(open, denyBob), policy(denyBob, open)]) {
      const verdict = evaluatePolicy(document, put("users/bob/x"));
      expect(verdict).toMatchObject({ allowed: false, effect: "deny", statementIndex: document.statement.indexOf(denyBob) });
      expect(verdict.reason).toMatch(/denies name\/cos:PutObject on users\/bob\/\*/);
      expect(evaluatePolicy(document, put("users/alice/x")).allowed).toBe(true);
    }
  });

  it("names the bucket for bucket-level resources", () => {
    const list = policy(allow(["name/cos:GetBucket"], [ROOT]));
    expect(evaluatePolicy(list, { action: "name/cos:GetBucket", resource: ROOT }).reason).toBe(
      "statement 0 allows name/cos:GetBucket on bucket examplebucket-1250000000",
    );
    expect(evaluatePolicy(list, { action: "name/cos:GetBucket", resource: res("x") }).allowed).toBe(false);
  });
});

describe("evaluatePolicy: conditions", () => {
  const check = (condition: CamStatement["condition"], context: EvaluationRequest["context"]) =>
    evaluatePolicy(policy(allow(["name/cos:PutObject"], [res("*")], condition)), put("k", context));
  const allowed = (condition: CamStatement["condition"], context: EvaluationRequest["context"]) => check(condition, context).allowed;

  describe("maximum size (numeric_less_than_equal on cos:content-length)", () => {
    const max = { numeric_less_than_equal: { "cos:content-length": 5 * 1024 * 1024 } };
    it.each([
      [0, true],
      [5 * 1024 * 1024, true],
      [5 * 1024 * 1024 + 1, false],
      ["1024", true],
      ["6000000", false],
      ["12abc", false],
      ["", false],
      [" ", false],
      [true, false],
    ])("content-length %j -> %s", (length, expected) => {
      expect(allowed(max, { "cos:content-length": length })).toBe(expected);
    });

    it("refuses an absent content-length without _if_exist, and says why", () => {
      const verdict = check(max, {});
      expect(verdict.allowed).toBe(false);
      expect(verdict.reason).toMatch(/statement 0 matches, but numeric_less_than_equal cos:content-length 5242880 is not met \(cos:content-length is absent\)/);
    });

    it("passes an absent content-length with _if_exist, and still checks a present one", () => {
      const lenient = { numeric_less_than_equal_if_exist: { "cos:content-length": 100 } };
      expect(allowed(lenient, {})).toBe(true);
      expect(allowed(lenient, undefined)).toBe(true);
      expect(allowed(lenient, { "cos:content-length": undefined })).toBe(true);
      expect(allowed(lenient, { "cos:content-length": 100 })).toBe(true);
      expect(allowed(lenient, { "cos:content-length": 101 })).toBe(false);
    });
  });

  describe("content-type allow-list (string_like on cos:content-type)", () => {
    const images = { string_like: { "cos:content-type": ["image/*", "application/pdf"] } };
    it.each([
      ["image/png", true],
      ["image/", true],
      ["application/pdf", true],
      ["application/pdfx", false],
      ["text/html", false],
      ["Image/png", false],
      ["text/html; image/png", false],
    ])("content-type %s -> %s", (type, expected) => {
      expect(allowed(images, { "cos:content-type": type })).toBe(expected);
    });

    it("refuses an absent content-type unless _if_exist", () => {
      expect(allowed(images, {})).toBe(false);
      expect(allowed({ string_like_if_exist: images.string_like }, {})).toBe(true);
      expect(allowed({ string_like_if_exist: images.string_like }, { "cos:content-type": "text/html" })).toBe(false);
    });
  });

  describe("source IP pin (ip_equal on qcs:ip)", () => {
    it.each([
      ["203.0.113.7", "203.0.113.7", true],
      ["203.0.113.7", "203.0.113.8", false],
      ["203.0.113.0/24", "203.0.113.200", true],
      ["203.0.113.0/24", "203.0.114.1", false],
      ["203.0.113.7", "::ffff:203.0.113.7", true],
      ["2001:db8::/32", "2001:db8:1::5", true],
      ["2001:db8::1", "2001:0db8:0:0:0:0:0:1", true],
      ["2001:db8::/32", "2001:db9::1", false],
      ["0.0.0.0/0", "2001:db8::1", false],
      ["203.0.113.7", "not-an-ip", false],
      ["203.0.113.7/33", "203.0.113.7", false],
    ])("ip_equal %s with qcs:ip %s -> %s", (range, address, expected) => {
      expect(allowed({ ip_equal: { "qcs:ip": range } }, { "qcs:ip": address })).toBe(expected);
    });

    it("takes any of several ranges, and ip_not_equal takes none of them", () => {
      const ranges = ["10.0.0.0/8", "192.168.1.1"];
      expect(allowed({ ip_equal: { "qcs:ip": ranges } }, { "qcs:ip": "192.168.1.1" })).toBe(true);
      expect(allowed({ ip_not_equal: { "qcs:ip": ranges } }, { "qcs:ip": "192.168.1.1" })).toBe(false);
      expect(allowed({ ip_not_equal: { "qcs:ip": ranges } }, { "qcs:ip": "10.9.9.9" })).toBe(false);
      expect(allowed({ ip_not_equal: { "qcs:ip": ranges } }, { "qcs:ip": "8.8.8.8" })).toBe(true);
    });

    it("refuses an unknown source IP unless _if_exist", () => {
      expect(allowed({ ip_equal: { "qcs:ip": "203.0.113.7" } }, {})).toBe(false);
      expect(allowed({ ip_equal_if_exist: { "qcs:ip": "203.0.113.7" } }, {})).toBe(true);
    });
  });

  describe("HTTPS only (bool_equal on cos:secure-transport)", () => {
    const https = { bool_equal: { "cos:secure-transport": true } };
    it.each([
      [true, true],
      ["true", true],
      ["TRUE", true],
      [false, false],
      ["false", false],
      ["yes", false],
      [1, false],
    ])("secure-transport %j -> %s", (value, expected) => {
      expect(allowed(https, { "cos:secure-transport": value })).toBe(expected);
    });

    it("accepts the policy value as a string too, and refuses absence unless _if_exist", () => {
      expect(allowed({ bool_equal: { "cos:secure-transport": "true" } }, { "cos:secure-transport": true })).toBe(true);
      expect(allowed(https, {})).toBe(false);
      expect(allowed({ bool_equal_if_exist: https.bool_equal }, {})).toBe(true);
    });
  });

  it.each<[string, string | number, string | number, boolean]>([
    ["string_equal", "private", "private", true],
    ["string_equal", "private", "public-read", false],
    ["string_equal", 5, "5", true],
    ["string_not_equal", "public-read", "private", true],
    ["string_not_equal", "public-read", "public-read", false],
    ["numeric_equal", 5, 5, true],
    ["numeric_not_equal", 5, 6, true],
    ["numeric_not_equal", 5, 5, false],
    ["numeric_less_than", 5, 4, true],
    ["numeric_less_than", 5, 5, false],
    ["numeric_greater_than", 5, 6, true],
    ["numeric_greater_than", 5, 5, false],
    ["numeric_greater_than_equal", 5, 5, true],
    ["numeric_greater_than_equal", "5", 4, false],
  ])("%s %j against %j -> %s", (operator, expected, actual, result) => {
    expect(allowed({ [operator]: { "cos:x": expected } }, { "cos:x": actual })).toBe(result);
  });

  it("fails string_not_equal on an absent key unless _if_exist (documented choice)", () => {
    expect(allowed({ string_not_equal: { "cos:x-cos-acl": "public-read" } }, {})).toBe(false);
    expect(allowed({ string_not_equal_if_exist: { "cos:x-cos-acl": "public-read" } }, {})).toBe(true);
  });

  it("needs every operator and every key of a block to hold", () => {
    const both = { numeric_less_than_equal: { "cos:content-length": 10 }, string_like: { "cos:content-type": "image/*", "cos:x": "a*" } };
    expect(allowed(both, { "cos:content-length": 5, "cos:content-type": "image/png", "cos:x": "ab" })).toBe(true);
    expect(allowed(both, { "cos:content-length": 50, "cos:content-type": "image/png", "cos:x": "ab" })).toBe(false);
    expect(allowed(both, { "cos:content-length": 5, "cos:content-type": "image/png", "cos:x": "b" })).toBe(false);
  });

  it("reads condition keys case-sensitively and never from the prototype", () => {
    expect(allowed({ string_equal: { "cos:Content-Type": "image/png" } }, { "cos:content-type": "image/png" })).toBe(false);
    expect(allowed({ string_like: { constructor: "*" } }, {})).toBe(false);
    expect(allowed(JSON.parse('{"string_like": {"__proto__": "*"}}'), {})).toBe(false);
  });

  it("fails closed on an unreadable condition: allows nothing, and a deny still denies", () => {
    const unknown = { date_less_than: { "qcs:current_time": "2030-01-01T00:00:00Z" } };
    expect(check(unknown, { "qcs:current_time": "2020-01-01T00:00:00Z" })).toMatchObject({ allowed: false, reason: expect.stringMatching(/unknown operator/) });
    const withDeny = policy(allow(["*"], ["*"]), deny(["*"], ["*"], unknown));
    expect(evaluatePolicy(withDeny, put("k"))).toMatchObject({ effect: "deny", statementIndex: 1 });
    const badShape = policy(allow(["*"], ["*"]), { effect: "deny", action: ["*"], resource: ["*"], condition: { string_equal: "x" } as never });
    expect(evaluatePolicy(badShape, put("k")).effect).toBe("deny");
  });

  it("skips a deny whose condition is not met", () => {
    const document = policy(allow(["*"], ["*"]), deny(["*"], ["*"], { bool_equal: { "cos:secure-transport": false } }));
    expect(evaluatePolicy(document, put("k", { "cos:secure-transport": true })).allowed).toBe(true);
    expect(evaluatePolicy(document, put("k", { "cos:secure-transport": false })).effect).toBe("deny");
    // Absent without _if_exist: the deny does not fire (write _if_exist to make absence deny too).
    expect(evaluatePolicy(document, put("k")).allowed).toBe(true);
  });
});

describe("matchWildcard", () => {
  const reference = (pattern: string, value: string) =>
    new RegExp(
      `^${pattern
        .split("*")
        .map((part) => part.replace(/[.+?^${}()|[\]\\/-]/g, "\\$&"))
        .join(".*")}$`,
      "s",
    ).test(value);
  const alphabet = fc.constantFrom("a", "b", "/", ".", "*", "?");

  it("agrees with a regular-expression reference for all small inputs", () => {
    fc.assert(
      fc.property(fc.string({ unit: alphabet, maxLength: 8 }), fc.string({ unit: alphabet, maxLength: 10 }), (pattern, value) => {
        expect(matchWildcard(pattern, value)).toBe(reference(pattern, value));
      }),
      { numRuns: 2000 },
    );
  });

  it("does at most pattern x value work on hostile patterns, where backtracking would be exponential", () => {
    const pattern = `${"a*".repeat(50)}b`;
    const text = "a".repeat(2000);
    // Counts every character the matcher reads from the value: a step count, not a stopwatch.
    let reads = 0;
    const counted = new Proxy(new String(text), {
      get(target, name) {
        if (typeof name === "string" && /^\d+$/.test(name)) reads += 1;
        const value = Reflect.get(target, name, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    }) as unknown as string;
    expect(matchWildcard(pattern, counted)).toBe(false);
    expect(reads).toBeGreaterThanOrEqual(text.length);
    expect(reads).toBeLessThanOrEqual((pattern.length + 1) * (text.length + 1));
  });
});
