/**
 * The startup lint across prefix templates: PREFIX_TEMPLATE, each profile's `prefix` and the
 * shared areas together. One template keeps users apart by itself (one placeholder per
 * segment); two templates could still hand one user an area that is, or holds, another
 * user's (docs/profiles.md, Startup lint).
 */
import { couldSpell, PER_USER, type PrefixTemplate, type Segment, segmentText } from "./prefix.ts";
import { type Profile, profileRuleError } from "./profiles.ts";

/** A template in force, and the profile that set it (none: PREFIX_TEMPLATE). */
export interface NamedTemplate {
  readonly template: PrefixTemplate;
  readonly profile?: string;
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
 * `variable` is where the profiles came from (STS_PROFILES or STS_PROFILES_FILE).
 */
export function checkAreasApart(profiles: ReadonlyMap<string, Profile>, defaultTemplate: PrefixTemplate, variable: string): void {
  const templates = [...profiles.values()].map(
    (profile): NamedTemplate => (profile.prefixTemplate ? { template: profile.prefixTemplate, profile: profile.name } : { template: defaultTemplate }),
  );
  const overlap = findAreaOverlap(templates);
  if (!overlap) return;
  const { outer, inner, reason } = overlap;
  const owner = (named: NamedTemplate) => `${named.profile ? `profile '${named.profile}' prefix` : "PREFIX_TEMPLATE"} '${named.template.source}'`;
  throw profileRuleError(
    variable,
    (outer.profile ?? inner.profile)!,
    "prefix-overlap",
    `${owner(outer)} can be or hold another user's area under ${owner(inner)}: ${reason}`,
    "start each template with a literal segment of its own, e.g. users/{sub}/ and avatars/{sub_hash}/",
  );
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
  const distinct = templates.filter((named, index) => templates.findIndex((other) => other.template.source === named.template.source) === index);
  for (const outer of distinct) {
    for (const inner of distinct) {
      if (outer === inner) continue;
      const reason = overlapReason(outer.template, inner.template);
      if (reason) return { outer, inner, reason };
    }
  }
  return undefined;
}

/** Why some area of `outer` can be, or hold, another identity's area of `inner`. */
function overlapReason(outer: PrefixTemplate, inner: PrefixTemplate): string | undefined {
  // Two shared areas hold no user's own objects; nesting them is the operator's choice.
  if (outer.segments.length > inner.segments.length || (!outer.perUser && !inner.perUser)) return undefined;
  let meeting: string | undefined;
  for (const [index, a] of outer.segments.entries()) {
    const b = inner.segments[index]!;
    if (sameSegment(a, b)) {
      // Both prefixes then hold the same user's value here: whatever follows is that user's own.
      if ("claim" in a && PER_USER.has(a.claim)) return undefined;
      continue;
    }
    if (!canMeet(a, b)) return undefined;
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
