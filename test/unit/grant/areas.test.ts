import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkAreasApart, findAreaOverlap } from "../../../lib/grant/areas.ts";
import { type Claims, compilePrefixTemplate, type PrefixTemplate, prefixFor, subjectHash } from "../../../lib/grant/prefix.ts";
import { builtInProfiles, type Profile } from "../../../lib/grant/profiles.ts";

const compile = (source: string) => compilePrefixTemplate(source, { allowShared: true });
const named = (...sources: string[]) => sources.map((source) => ({ template: compile(source) }));
const overlaps = (...sources: string[]) => findAreaOverlap(named(...sources))?.reason;

describe("findAreaOverlap", () => {
  it.each([
    ["each template under a literal of its own", ["users/{sub}/", "avatars/{sub_hash}/", "public/"]],
    ["a literal no value can spell", ["u-{sub}/", "public/"]],
    ["a sub_hash cannot spell a short literal", ["{sub_hash}/", "public/"]],
    ["one user's areas nested in each other", ["users/{sub}/", "users/{sub}/avatars/"]],
    ["the same user through a shared claim first", ["t/{tenant}/{sub}/", "t/{tenant}/{sub}/x/"]],
    ["shared areas nested in each other", ["public/", "public/thumbs/"]],
    ["placeholders whose literal text never agrees", ["u-{sub}/", "g-{tenant}/{sub}/"]],
  ])("accepts %s", (_why, sources) => {
    expect(overlaps(...sources)).toBeUndefined();
  });

  it.each([
    ["a user's sub naming another template's area", ["{sub}/", "avatars/{sub}/"], "segment 1 is '{sub}' in one and 'avatars' in the other"],
    ["a user's sub naming a shared area", ["{sub}/", "public/"], "segment 1"],
    ["{sub} facing {sub_hash}", ["users/{sub}/", "users/{sub_hash}/"], "segment 2 is '{sub}' in one and '{sub_hash}' in the other"],
    ["{sub} facing another claim", ["{sub}/", "{tenant}/{sub}/"], "'{sub}' in one and '{tenant}'"],
    ["a shared area holding users' areas", ["t/{tenant}/", "t/{tenant}/{sub}/"], "the shared area holds every user's area"],
    ["a 43-character literal a sub_hash can be", ["{sub_hash}/", `${"A".repeat(43)}/`], "segment 1"],
    ["literal text around a placeholder that can agree", ["u-{sub}/", "u{tenant}/{sub}/"], "segment 1"],
  ])("refuses %s", (_why, sources, reason) => {
    expect(overlaps(...sources)).toContain(reason);
  });
});

describe("checkAreasApart", () => {
  const profile = (name: string, prefix: string): Profile => ({
    name,
    actions: ["name/cos:GetObject"],
    resources: ["*"],
    conditions: {},
    prefixTemplate: compile(prefix),
  });

  it("names both templates, the profile, the rule and the fix", () => {
    const profiles = new Map([...builtInProfiles, ["avatar", profile("avatar", "users/{sub_hash}/")]]);
    expect(() => checkAreasApart(profiles, compile("users/{sub}/"), "STS_PROFILES")).toThrow(
      /^STS_PROFILES: profile 'avatar' breaks rule prefix-overlap \(.*PREFIX_TEMPLATE 'users\/\{sub\}\/'.*profile 'avatar' prefix 'users\/\{sub_hash\}\/'.*\): start each template with a literal segment of its own/,
    );
  });

  it("ignores PREFIX_TEMPLATE when no profile uses it", () => {
    const profiles = new Map([["avatar", profile("avatar", "users/{sub_hash}/")]]);
    expect(() => checkAreasApart(profiles, compile("users/{sub}/"), "STS_PROFILES")).not.toThrow();
  });
});

/**
 * The claim the docs make: whenever startup accepts a set of templates, no two identities'
 * prefixes are equal or one inside the other, across all templates (a shared area: any two
 * identities, the same one included). Values are drawn so that they can meet: subs that spell
 * literals, subs that are other users' hashes, claims that are other users' subs.
 */
describe("property: accepted templates keep every pair of identities apart", () => {
  const issuer = "https://id.example";
  const words = ["u", "a", "public", "alice", "x"];
  const hashes = words.map((sub) => subjectHash({ iss: issuer, sub }));
  const values = [...words, "u-alice", "alice-x", "u-x", "ua", ...hashes, ...hashes.map((hash) => `u-${hash}`)];

  const segment = fc.oneof(
    fc.constantFrom(...words, "A".repeat(43)),
    fc
      .record({
        before: fc.constantFrom("", "", "u-", "a"),
        claim: fc.constantFrom("sub", "sub_hash", "tenant", "email"),
        after: fc.constantFrom("", "", "-x"),
      })
      .map(({ before, claim, after }) => `${before}{${claim}}${after}`),
  );
  const template = fc.array(segment, { minLength: 1, maxLength: 3 }).map((segments) => segments.join("/"));
  const templates = fc.uniqueArray(template, { minLength: 2, maxLength: 4 }).map((sources) => sources.map(compile));
  const identity = fc.record({ sub: fc.constantFrom(...values), tenant: fc.constantFrom(...values), email: fc.constantFrom(...values) });
  const identities = fc.uniqueArray(identity, { minLength: 2, maxLength: 5, selector: (claims) => claims.sub });

  const filled = (template: PrefixTemplate, claims: Claims) => {
    try {
      return prefixFor(template, { ...claims, iss: issuer });
    } catch {
      return undefined; // a claim the template cannot hold: the request is refused
    }
  };

  /** A pair of areas that meet, as words; undefined when every pair stays apart. */
  function meeting(set: readonly PrefixTemplate[], people: readonly Claims[]): string | undefined {
    for (const a of set) {
      for (const b of set) {
        if (!a.perUser && !b.perUser) continue;
        for (const i of people) {
          for (const j of people) {
            if (i === j && a.perUser && b.perUser) continue;
            const [pa, pb] = [filled(a, i), filled(b, j)];
            if (pa && pb?.startsWith(pa)) return `${a.source} for ${i.sub} holds ${b.source} for ${j.sub}: ${pb}`;
          }
        }
      }
    }
    return undefined;
  }

  const property = (accepts: (set: readonly PrefixTemplate[]) => boolean, accepted: { count: number }) =>
    fc.property(templates, identities, (set, people) => {
      if (!accepts(set)) return;
      accepted.count += 1;
      expect(meeting(set, people)).toBeUndefined();
    });

  it("holds for the startup lint", () => {
    const accepted = { count: 0 };
    fc.assert(
      property((set) => findAreaOverlap(set.map((t) => ({ template: t }))) === undefined, accepted),
      { numRuns: 3000 },
    );
    // Enough accepted sets for the property to say something.
    expect(accepted.count).toBeGreaterThan(300);
  });

  it("fails without it: the generators reach real collisions", () => {
    expect(
      fc.check(
        property(() => true, { count: 0 }),
        { numRuns: 3000 },
      ).failed,
    ).toBe(true);
  });
});
