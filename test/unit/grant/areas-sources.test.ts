/**
 * The prefix-overlap lint across identity sources (docs/mini-programs.md, Who the user is):
 * login-token users fill in PREFIX_TEMPLATE, WeChat users WECHAT_PREFIX_TEMPLATE, and both fill
 * in a profile's own template. Whenever startup accepts a set, no user of one source can reach
 * an area of a user of the other, even when their ids are the same text.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { findAreaOverlap, type IdentityArea, type NamedTemplate } from "../../../lib/grant/areas.ts";
import { type Claims, compilePrefixTemplate, PER_USER, type PrefixTemplate, prefixFor, subjectHash } from "../../../lib/grant/prefix.ts";

const WECHAT_PER_USER = new Set([...PER_USER, "openid", "unionid"]);
const compile = (source: string, perUserClaims?: ReadonlySet<string>) => compilePrefixTemplate(source, { allowShared: true, perUserClaims });
const tokens = (template: PrefixTemplate): IdentityArea => ({ template, variable: "PREFIX_TEMPLATE", users: "login-token users" });
const wechat = (template: PrefixTemplate): IdentityArea => ({
  template,
  variable: "WECHAT_PREFIX_TEMPLATE",
  users: "WeChat users",
  perUserClaims: WECHAT_PER_USER,
});

describe("findAreaOverlap across identity sources", () => {
  const pair = (a: IdentityArea, b: IdentityArea) =>
    findAreaOverlap([
      { template: a.template, identity: a },
      { template: b.template, identity: b },
    ])?.reason;

  it("keeps sources apart by a literal, or by {sub_hash}", () => {
    expect(pair(tokens(compile("users/{sub}/")), wechat(compile("wx/{openid}/", WECHAT_PER_USER)))).toBeUndefined();
    expect(pair(tokens(compile("u/{sub_hash}/")), wechat(compile("u/{sub_hash}/", WECHAT_PER_USER)))).toBeUndefined();
  });

  it("counts the same id from two sources as two people", () => {
    expect(pair(tokens(compile("u/{sub}/")), wechat(compile("u/{sub}/", WECHAT_PER_USER)))).toContain("segment 2 is '{sub}' in one and '{sub}' in the other");
    expect(pair(tokens(compile("u/{openid}/")), wechat(compile("u/{openid}/", WECHAT_PER_USER)))).toContain("segment 2");
    // Within one source, the same {sub} in the same place is the same user.
    expect(pair(tokens(compile("u/{sub}/")), tokens(compile("u/{sub}/x/")))).toBeUndefined();
  });
});

describe("property: accepted templates keep login-token users and WeChat users apart", () => {
  const issuer = "https://id.example";
  const appIssuer = "wechat:wx1234567890abcdef";
  const words = ["u", "wx", "alice", "o_alice"];
  const hashes = words.flatMap((sub) => [subjectHash({ iss: issuer, sub }), subjectHash({ iss: appIssuer, sub })]);
  const values = [...words, ...hashes];

  const segment = (claims: readonly string[]) =>
    fc.oneof(
      fc.constantFrom(...words),
      fc.constantFrom(...claims).map((claim) => `{${claim}}`),
    );
  const template = (claims: readonly string[]) => fc.array(segment(claims), { minLength: 1, maxLength: 3 }).map((segments) => segments.join("/"));
  /** Each identity source's own template, and profile templates both fill in. */
  const sets = fc.record({
    tokens: template(["sub", "sub_hash", "openid"]),
    wechat: template(["sub", "sub_hash", "openid", "unionid"]),
    profiles: fc.array(template(["sub", "sub_hash"]), { maxLength: 2 }),
  });
  const value = fc.constantFrom(...values);
  const people = fc.record({ tokenUser: fc.record({ sub: value, openid: value }), wechatUser: fc.record({ openid: value, unionid: value }) });

  function templatesOf(set: { tokens: string; wechat: string; profiles: string[] }): NamedTemplate[] | undefined {
    try {
      const own = [tokens(compile(set.tokens)), wechat(compile(set.wechat, WECHAT_PER_USER))];
      if (!own.every((area) => area.template.perUser)) return undefined;
      const profiles = set.profiles.map((source) => compile(source));
      return own.flatMap((identity) => [{ template: identity.template, identity }, ...profiles.map((template) => ({ template, profile: "p", identity }))]);
    } catch {
      return undefined; // not a template startup would take
    }
  }

  const filled = (named: NamedTemplate, claims: Claims) => {
    try {
      return prefixFor(named.template, claims);
    } catch {
      return undefined; // a claim the template cannot hold: the request is refused
    }
  };

  it("holds for the startup lint, and the generators reach real collisions without it", () => {
    let accepted = 0;
    let collisions = 0;
    fc.assert(
      fc.property(sets, people, (set, { tokenUser, wechatUser }) => {
        const templates = templatesOf(set);
        if (!templates) return;
        const userOf = (named: NamedTemplate): Claims =>
          named.identity?.variable === "WECHAT_PREFIX_TEMPLATE" ? { iss: appIssuer, sub: wechatUser.openid, ...wechatUser } : { iss: issuer, ...tokenUser };
        const meets = templates.some((a) =>
          templates.some((b) => {
            // Within one source, areas.test.ts has the property; two shared areas are everyone's anyway.
            if (a.identity?.variable === b.identity?.variable || (!a.template.perUser && !b.template.perUser)) return false;
            const [pa, pb] = [filled(a, userOf(a)), filled(b, userOf(b))];
            return pa !== undefined && pb?.startsWith(pa) === true;
          }),
        );
        if (meets) collisions += 1;
        if (findAreaOverlap(templates) !== undefined) return;
        accepted += 1;
        expect(meets).toBe(false);
      }),
      { numRuns: 3000 },
    );
    // Enough accepted sets, and enough collisions among all, for the property to say something.
    expect(accepted).toBeGreaterThan(150);
    expect(collisions).toBeGreaterThan(30);
  });
});
