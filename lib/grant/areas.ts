/**
 * The startup lint across prefix templates: PREFIX_TEMPLATE, each profile's `prefix` and the
 * shared areas together. One template keeps users apart by itself (one placeholder per
 * segment); two templates could still hand one user an area that is, or holds, another
 * user's (docs/profiles.md, Startup lint).
 */

import { configError } from "../shared/env.ts";
import { couldSpell, PER_USER, type PrefixTemplate, type Segment, segmentText } from "./prefix.ts";
import { type Profile, profileRuleError } from "./profiles.ts";

/** A template in force, the profile that set it (none: its identity source's own), and whose users it holds. */
export interface NamedTemplate {
  readonly template: PrefixTemplate;
  readonly profile?: string;
  /** The identity source whose users fill it in; default the login-token one (PREFIX_TEMPLATE). */
  readonly identity?: IdentityArea;
}

/**
 * An identity source and its own template: login tokens and PREFIX_TEMPLATE, WeChat login and
 * WECHAT_PREFIX_TEMPLATE. Two sources' users never share a placeholder's value as the same user:
 * a WeChat openid and a token's `sub` can be equal text and still be two people.
 */
export interface IdentityArea {
  readonly template: PrefixTemplate;
  /** The variable that sets the template, named in messages. */
  readonly variable: string;
  /** Who these users are, in messages ("WeChat users"). */
  readonly users: string;
  /** The placeholders that name one of these users; default {sub} and {sub_hash}. */
  readonly perUserClaims?: ReadonlySet<string>;
}

export interface AreaOverlap {
  /** The template whose areas can be, or hold, areas of `inner`. */
  readonly outer: NamedTemplate;
  readonly inner: NamedTemplate;
  /** Why, in words. */
  readonly reason: string;
}

/**
 * Refuses to start when two templates in force can meet: the message names both and the fix.
 * Each identity source fills in its own template and every profile's; `variable` is where the
 * profiles came from (STS_PROFILES or STS_PROFILES_FILE).
 */
export function checkAreasApart(profiles: ReadonlyMap<string, Profile>, sources: PrefixTemplate | readonly IdentityArea[], variable: string): void {
  const areas: readonly IdentityArea[] = "source" in sources ? [{ template: sources, variable: "PREFIX_TEMPLATE", users: "login-token users" }] : sources;
  const templates = areas.flatMap((identity) =>
    [...profiles.values()].map(
      (profile): NamedTemplate =>
        profile.prefixTemplate ? { template: profile.prefixTemplate, profile: profile.name, identity } : { template: identity.template, identity },
    ),
  );
  const overlap = findAreaOverlap(templates);
  if (!overlap) return;
  const { outer, inner, reason } = overlap;
  // Whose users each template holds matters only when the two are different sources' users.
  const twoSources = outer.identity?.variable !== inner.identity?.variable;
  const owner = (named: NamedTemplate) =>
    `${named.profile ? `profile '${named.profile}' prefix` : (named.identity?.variable ?? "PREFIX_TEMPLATE")} '${named.template.source}'${twoSources ? ` for ${named.identity?.users}` : ""}`;
  const problem = `${owner(outer)} can be or hold another user's area under ${owner(inner)}: ${reason}`;
  const fix = "start each template with a literal segment of its own, e.g. users/{sub}/ and avatars/{sub_hash}/";
  const profile = outer.profile ?? inner.profile;
  if (profile) throw profileRuleError(variable, profile, "prefix-overlap", problem, fix);
  throw configError(inner.identity?.variable ?? "PREFIX_TEMPLATE", `breaks rule prefix-overlap (${problem})`, fix);
}

/**
 * The first pair of templates where one identity's filled prefix can equal, or be a prefix
 * of, another identity's (any identity's, when either is a shared area); undefined when no
 * pair can. Segment by segment: different literals keep two templates apart for good; the
 * same placeholder in the same place means the same value, and a per-user one the same user;
 * a placeholder facing a literal or another placeholder is a place where a claim value can
 * make them meet.
 */
export function findAreaOverlap(templates: readonly NamedTemplate[]): AreaOverlap | undefined {
  const key = (named: NamedTemplate) => `${named.identity?.variable ?? ""} ${named.template.source}`;
  const distinct = templates.filter((named, index) => templates.findIndex((other) => key(other) === key(named)) === index);
  for (const outer of distinct) {
    for (const inner of distinct) {
      if (outer === inner) continue;
      const reason = overlapReason(outer, inner);
      if (reason) return { outer, inner, reason };
    }
  }
  return undefined;
}

/** Why some area of `outer` can be, or hold, another identity's area of `inner`. */
function overlapReason(outerNamed: NamedTemplate, innerNamed: NamedTemplate): string | undefined {
  const [outer, inner] = [outerNamed.template, innerNamed.template];
  // Two shared areas hold no user's own objects; nesting them is the operator's choice.
  if (outer.segments.length > inner.segments.length || (!outer.perUser && !inner.perUser)) return undefined;
  const sameUsers = outerNamed.identity?.variable === innerNamed.identity?.variable;
  const perUser = outerNamed.identity?.perUserClaims ?? PER_USER;
  let meeting: string | undefined;
  for (const [index, a] of outer.segments.entries()) {
    const b = inner.segments[index]!;
    if (sameSegment(a, b)) {
      // Both prefixes then hold the same user's value here: whatever follows is that user's own.
      // Across identity sources only {sub_hash} says so, as it hashes the issuer too.
      if ("claim" in a && (sameUsers ? perUser.has(a.claim) : a.claim === "sub_hash")) return undefined;
      if (!("claim" in a) || sameUsers) continue;
    } else if (!canMeet(a, b)) return undefined;
    meeting ??= `segment ${index + 1} is '${segmentText(a)}' in one and '${segmentText(b)}' in the other, which a claim value can make equal`;
  }
  return meeting ?? "the shared area holds every user's area that follows it";
}

const sameSegment = (a: Segment, b: Segment) => segmentText(a) === segmentText(b);

function canMeet(a: Segment, b: Segment): boolean {
  if ("literal" in a) return "literal" in b ? a.literal === b.literal : couldSpell(b, a.literal);
  if ("literal" in b) return couldSpell(a, b.literal);
  // Two placeholders: only literal text around them that can never agree keeps them apart.
  const starts = a.before.startsWith(b.before) || b.before.startsWith(a.before);
  const ends = a.after.endsWith(b.after) || b.after.endsWith(a.after);
  return starts && ends;
}
