import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkKeyInPrefix, compilePrefixTemplate, keyUnderPrefix, prefixFor, subjectHash } from "../../../lib/grant/prefix.ts";
import { codeOf } from "../../support/outcome.ts";

describe("compilePrefixTemplate", () => {
  it.each(["users/{sub}/", "users/{sub}", "{sub_hash}/", "t/{tenant}/u/{sub}/", "u-{sub}/"])("accepts %s", (template) => {
    expect(compilePrefixTemplate(template).source.endsWith("/")).toBe(true);
  });

  it.each([
    ["/users/{sub}/", "start with '/'"],
    ["users//{sub}/", "empty path segment"],
    ["users/*/{sub}/", "not allowed"],
    ["users/../{sub}/", "'..'"],
    ["users/{sub}{tenant}/", "more than one placeholder"],
    ["users/{tenant}-{sub}/", "more than one placeholder"],
    ["users/{tenant}/", "no per-user placeholder"],
    ["users/shared/", "no per-user placeholder"],
    ["users/{su b}/", "not a claim name"],
    ["users/{sub/", "brace"],
    ["users /{sub}/", "not allowed"],
  ])("refuses %s", (template, why) => {
    expect(() => compilePrefixTemplate(template)).toThrow(why);
  });
});

describe("prefixFor", () => {
  const template = compilePrefixTemplate("users/{sub}/");

  it("fills {sub} and ends with /", () => {
    expect(prefixFor(template, { sub: "alice" })).toBe("users/alice/");
  });

  it("fills other claims and {sub_hash}", () => {
    const t = compilePrefixTemplate("t/{tenant}/{sub_hash}/");
    const hash = subjectHash({ iss: "https://id.example", sub: "alice" });
    expect(prefixFor(t, { sub: "alice", iss: "https://id.example", tenant: "acme" })).toBe(`t/acme/${hash}/`);
    expect(hash).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it("gives different hashes to the same sub from different issuers", () => {
    expect(subjectHash({ iss: "a", sub: "x" })).not.toBe(subjectHash({ iss: "b", sub: "x" }));
    // The NUL separator keeps (iss "ab", sub "c") apart from (iss "a", sub "bc").
    expect(subjectHash({ iss: "ab", sub: "c" })).not.toBe(subjectHash({ iss: "a", sub: "bc" }));
  });

  it.each([
    ["user1*", "wildcard"],
    ["user1?", "wildcard"],
    ["../bob", "slash"],
    ["..", "dot-dot"],
    [".", "dot"],
    ["a/b", "slash"],
    ["a\\b", "backslash"],
    ["a%2fb", "percent"],
    ["a b", "space"],
    ["a\tb", "tab"],
    ["a\u0000b", "NUL"],
    ["a\u202eb", "bidi override"],
    ["a\u00a0b", "no-break space"],
    ["a\ud800", "lone surrogate"],
    ["", "empty"],
    ["x".repeat(129), "too long"],
  ])("refuses sub %j (%s) with IdentityNotAllowed and suggests {sub_hash}", (sub) => {
    expect(codeOf(() => prefixFor(template, { sub }))).toBe("IdentityNotAllowed");
    expect(() => prefixFor(template, { sub })).toThrow("{sub_hash}");
  });

  it.each([[123], [null], [["a"]], [{ a: 1 }], [true]])("refuses a non-string claim %j", (tenant) => {
    const t = compilePrefixTemplate("t/{tenant}/{sub}/");
    expect(codeOf(() => prefixFor(t, { sub: "alice", tenant }))).toBe("IdentityNotAllowed");
  });

  it("refuses a missing claim", () => {
    expect(codeOf(() => prefixFor(compilePrefixTemplate("t/{tenant}/{sub}/"), { sub: "alice" }))).toBe("IdentityNotAllowed");
  });

  it("property: an accepted sub yields exactly users/<sub>/ and never escapes or collides", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 140 }), fc.string({ unit: "binary", maxLength: 140 }), (a, b) => {
        const pa = codeOf(() => prefixFor(template, { sub: a })) === "ok" ? prefixFor(template, { sub: a }) : undefined;
        const pb = codeOf(() => prefixFor(template, { sub: b })) === "ok" ? prefixFor(template, { sub: b }) : undefined;
        for (const [sub, prefix] of [
          [a, pa],
          [b, pb],
        ] as const) {
          if (prefix === undefined) continue;
          expect(prefix).toBe(`users/${sub}/`);
          expect(prefix.split("/")).toHaveLength(3);
          expect(prefix).not.toMatch(/[*?%\\\s]/u);
        }
        if (pa !== undefined && pb !== undefined && a !== b) expect(pa).not.toBe(pb);
      }),
      { numRuns: 2000 },
    );
  });
});

describe("key checks", () => {
  const prefix = "users/alice/";

  it("accepts keys inside the prefix", () => {
    expect(keyUnderPrefix("photo.png", prefix)).toBe("users/alice/photo.png");
    expect(keyUnderPrefix("2026/01/a b.png", prefix)).toBe("users/alice/2026/01/a b.png");
    expect(checkKeyInPrefix("users/alice/x", prefix, "scope")).toBe("users/alice/x");
  });

  it.each([
    ["*", "wildcard"],
    ["a?b", "wildcard"],
    ["/abs", "leading slash"],
    ["../bob/x", "dot-dot"],
    ["a/../../bob/x", "dot-dot inside"],
    ["./x", "dot"],
    ["a/.", "trailing dot"],
    ["", "empty"],
    ["a\u0007", "control"],
    ["x".repeat(900), "too long"],
    [42, "number"],
    [null, "null"],
    [["a"], "array"],
  ] as [unknown, string][])("refuses relative key %j (%s)", (key) => {
    expect(codeOf(() => keyUnderPrefix(key, prefix))).toBe("ScopeNotAllowed");
  });

  it.each(["users/alice/cat.jpg", "users/alice/", "users/alice/users/alice/x"])(
    "refuses relative key %j, which starts with the caller's own prefix, with a 400 saying key is relative",
    (key) => {
      expect(codeOf(() => keyUnderPrefix(key, prefix))).toBe("BadRequest");
      expect(() => keyUnderPrefix(key, prefix)).toThrow(/^key is relative to your prefix users\/alice\/: send it without that prefix/);
    },
  );

  it("still accepts a relative key that only looks like another prefix", () => {
    expect(keyUnderPrefix("users/bob/x", prefix)).toBe("users/alice/users/bob/x");
    expect(keyUnderPrefix("users/alice2/x", prefix)).toBe("users/alice/users/alice2/x");
  });

  it.each(["users/alice", "users/alice1/x", "users/alice*", "users/alic", "users/bob/x", "/users/alice/x", "users/alice/../bob/x", "Users/alice/x"])(
    "refuses full key %j outside the prefix",
    (key) => {
      expect(codeOf(() => checkKeyInPrefix(key, prefix, "scope[0].prefix"))).toBe("ScopeNotAllowed");
    },
  );

  it("property: any accepted key lies under the prefix with no wildcard and no dot segment", () => {
    const segment = fc.oneof(fc.constantFrom(".", "..", "*", "", "alice", "bob", "a?"), fc.string({ maxLength: 6 }));
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 6 }), fc.boolean(), (segments, absolute) => {
        const key = (absolute ? "/" : "") + segments.join("/");
        if (codeOf(() => keyUnderPrefix(key, prefix)) !== "ok") return;
        const full = keyUnderPrefix(key, prefix);
        expect(full.startsWith(prefix)).toBe(true);
        expect(full).not.toMatch(/[*?]/);
        expect(full.split("/")).not.toContain("..");
        expect(full.split("/")).not.toContain(".");
      }),
      { numRuns: 3000 },
    );
  });
});
