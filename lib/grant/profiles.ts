/**
 * Permission profiles: what a credential may do (COS actions, spelled out), where (patterns
 * under the user's prefix) and under which conditions. Built-ins, plus custom ones from JSON
 * (STS_PROFILES / STS_PROFILES_FILE), checked strictly at cold start: a profile that could
 * grant more than its author can see refuses to start, naming the profile and the rule.
 */
import { actionNamed, isBucketAction, shortAction, writesBody } from "../cam/actions.ts";
import { BrokerError } from "../shared/errors.ts";
import { compilePrefixTemplate, type PrefixTemplate } from "./prefix.ts";

interface ProfileConditions {
  /** Bytes per request (`numeric_less_than_equal` on `cos:content-length`): each part of a multipart upload. */
  readonly maxBytes?: number;
  /** `string_like` on `cos:content-type`, e.g. `image/*`. */
  readonly contentTypes?: readonly string[];
  /** `ip_equal` on `qcs:ip` with the caller's source IP. */
  readonly pinSourceIp?: boolean;
  /** `bool_equal` on `cos:secure-transport`. */
  readonly httpsOnly?: boolean;
}

export interface Profile {
  readonly name: string;
  /** Full names, `name/cos:PutObject`. */
  readonly actions: readonly string[];
  /** Patterns relative to the user's prefix, normalised: `*`, `photos/*`, `avatar.*`. */
  readonly resources: readonly string[];
  readonly conditions: ProfileConditions;
  readonly durationSeconds?: number;
  /** Lower-case extensions. When set, the broker chooses every key (requests send `filename`). */
  readonly extensions?: readonly string[];
  /** Replaces PREFIX_TEMPLATE for this profile. */
  readonly prefixTemplate?: PrefixTemplate;
}

export interface ProfileWarning {
  readonly profile: string;
  readonly rule: string;
  readonly message: string;
}

export const DEFAULT_PROFILE = "upload";
/** What an extension may be, in a profile's allow-list and a server-chosen key. */
export const EXTENSION = /^[a-z0-9]{1,16}$/;
/** COS refuses a single PUT or part over 5 GB, so a larger limit would mean nothing. */
const MAX_OBJECT_BYTES = 5 * 1024 ** 3;

const full = (names: readonly string[]) => names.map((name) => `name/cos:${name}`);
/** Everything an upload needs, simple or multipart, incl. PostObject for mini-programs (https://cloud.tencent.com/document/product/436/30580). */
const UPLOAD = full([
  "PutObject",
  "PostObject",
  "InitiateMultipartUpload",
  "ListMultipartUploads",
  "ListParts",
  "UploadPart",
  "CompleteMultipartUpload",
  "AbortMultipartUpload",
]);
const READ = full(["GetObject", "HeadObject", "OptionsObject"]);
const builtIn = (name: string, actions: readonly string[]): [string, Profile] => [name, { name, actions, resources: ["*"], conditions: {} }];

export const builtInProfiles: ReadonlyMap<string, Profile> = new Map([
  builtIn(DEFAULT_PROFILE, UPLOAD),
  builtIn("read", READ),
  // GetBucket is fenced by cos:prefix on both the `p/` and `p/*` forms (see policy.ts).
  builtIn("list", full(["GetBucket"])),
  builtIn("read-write", [...UPLOAD, ...READ]),
  // cos-js-sdk's deleteMultipleObject asks for one name/cos:DeleteObject scope item per key.
  builtIn("delete", full(["DeleteObject"])),
]);

/** The profile a request names; unknown names are a 403, a non-string a 400. */
export function profileNamed(profiles: ReadonlyMap<string, Profile>, name: unknown): Profile {
  if (name === undefined || name === null) name = DEFAULT_PROFILE;
  if (typeof name !== "string") throw new BrokerError("BadRequest", "profile must be a string");
  const profile = profiles.get(name);
  // The names are no secret (clients send them); the unknown one is not echoed.
  if (!profile) throw new BrokerError("ScopeNotAllowed", `no such profile; the profiles are ${[...profiles.keys()].join(", ")}`);
  return profile;
}

export interface ProfileRules {
  /** Where the JSON came from, for messages: STS_PROFILES or STS_PROFILES_FILE. */
  readonly variable: string;
  /** STS's lifetime bounds for the configured mode. */
  readonly minDurationSeconds: number;
  readonly maxDurationSeconds: number;
}

const PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const PROFILE_FIELDS = new Set(["actions", "resources", "conditions", "durationSeconds", "extensions", "prefix", "shared"]);
const CONDITION_FIELDS = new Set(["maxBytes", "contentTypes", "pinSourceIp", "httpsOnly"]);
/** `type/subtype`, `type/*` or `type/sub*`: `*` only at the end (docs/profiles.md, Conditions). */
const CONTENT_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]*\/(\*|[a-z0-9][a-z0-9!#$&^_.+-]*\*?)$/i;
/** What a resource pattern may not hold: escapes (`\`), wildcards COS does not know (`?`), encodings, templates. */
const FORBIDDEN_IN_RESOURCE = /[\\?%{}\s\p{Cc}\p{Cf}\uD800-\uDFFF]/u;

/**
 * Custom profiles from JSON: `{"<name>": {...definition...} | false}`. A definition replaces
 * the built-in of the same name; `false` removes a built-in. Returns every profile in force.
 */
export function parseProfiles(text: string, rules: ProfileRules): { profiles: Map<string, Profile>; warnings: ProfileWarning[] } {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw new BrokerError("ConfigError", `${rules.variable} is not valid JSON: write an object of profiles, e.g. {"avatar": {"actions": ["PutObject"]}}`);
  }
  if (!isRecord(document)) {
    throw new BrokerError("ConfigError", `${rules.variable} is not a JSON object of profiles: e.g. {"avatar": {"actions": ["PutObject"]}}`);
  }
  const profiles = new Map(builtInProfiles);
  const warnings: ProfileWarning[] = [];
  for (const [name, definition] of Object.entries(document)) {
    const refuse = refusal(rules.variable, name);
    if (!PROFILE_NAME.test(name)) throw refuse("invalid-name", "its name is not 1-64 letters, digits, '_', '.', '-'", "rename it");
    if (definition === false) {
      if (!builtInProfiles.has(name)) throw refuse("invalid-field", "false removes a built-in profile, and this is not one", "remove the entry");
      profiles.delete(name);
      continue;
    }
    profiles.set(name, parseProfile(name, definition, rules, warnings));
  }
  return { profiles, warnings };
}

type Refuse = (rule: string, problem: string, fix: string) => BrokerError;

/** The startup lint's refusal: names the variable, the profile and the rule, then the fix. */
export function profileRuleError(variable: string, name: string, rule: string, problem: string, fix: string): BrokerError {
  return new BrokerError("ConfigError", `${variable}: profile '${name}' breaks rule ${rule} (${problem}): ${fix}`);
}

const refusal =
  (variable: string, name: string): Refuse =>
  (rule, problem, fix) =>
    profileRuleError(variable, name, rule, problem, fix);

function parseProfile(name: string, definition: unknown, rules: ProfileRules, warnings: ProfileWarning[]): Profile {
  const refuse = refusal(rules.variable, name);
  if (!isRecord(definition)) throw refuse("invalid-field", "its definition is not an object", 'e.g. {"actions": ["GetObject"]}');
  const unknown = Object.keys(definition).find((field) => !PROFILE_FIELDS.has(field));
  if (unknown !== undefined) throw refuse("unknown-field", `'${unknown}' is not a profile field`, `use only ${[...PROFILE_FIELDS].join(", ")}`);
  const { actions, resources, conditions, durationSeconds, extensions, prefix, shared } = definition;
  if (shared !== undefined && typeof shared !== "boolean") throw refuse("invalid-field", "shared is not true or false", 'write "shared": true');
  const profile: Profile = {
    name,
    actions: parseActions(actions, refuse),
    resources: resources === undefined ? ["*"] : parseResources(resources, refuse),
    conditions: parseConditions(conditions, refuse),
    ...(durationSeconds === undefined ? {} : { durationSeconds: parseDuration(durationSeconds, rules, refuse) }),
    ...(extensions === undefined ? {} : { extensions: parseExtensions(extensions, refuse) }),
    ...(prefix === undefined ? {} : { prefixTemplate: parsePrefix(prefix, shared === true, refuse) }),
  };
  checkServerChosenKeys(profile, refuse);
  if (profile.prefixTemplate && !profile.prefixTemplate.perUser) {
    const actionList = profile.actions.map(shortAction).join(", ");
    warnings.push({
      profile: name,
      rule: "shared-area",
      message: `every user gets ${actionList} on the same area '${profile.prefixTemplate.source}' (declared "shared": true)`,
    });
  }
  return profile;
}

function parseActions(value: unknown, refuse: Refuse): string[] {
  if (!Array.isArray(value) || value.length === 0)
    throw refuse("invalid-field", "actions is not a non-empty array", 'e.g. "actions": ["PutObject", "PostObject"]');
  const actions = value.map((action: unknown) => {
    if (typeof action !== "string") throw refuse("invalid-field", "an action is not a string", 'e.g. "PutObject"');
    if (action.includes("*")) throw refuse("wildcard-action", `'${action}' is a wildcard`, "spell out each action, e.g. PutObject, GetObject");
    const named = actionNamed(action);
    if (!named) throw refuse("unknown-action", `'${action}' is not a COS action the broker knows`, "see the action list in docs/profiles.md, e.g. PutObject");
    return named;
  });
  return [...new Set(actions)];
}

function parseResources(value: unknown, refuse: Refuse): string[] {
  if (!Array.isArray(value) || value.length === 0)
    throw refuse("invalid-field", "resources is not a non-empty array", 'e.g. "resources": ["photos/", "avatar.*"]');
  return [...new Set(value.map((pattern: unknown) => normalizeResource(pattern, refuse)))];
}

/**
 * A pattern relative to the user's prefix: `photos/` means everything under it (`photos/*`),
 * anything else is taken as written (`avatar.*`, `*`). Nothing in it can climb out of the prefix.
 */
function normalizeResource(pattern: unknown, refuse: Refuse): string {
  const outside = (why: string) =>
    refuse(
      "resource-outside-prefix",
      `resource ${JSON.stringify(pattern)} ${why}`,
      'write a path relative to the user\'s prefix, e.g. "photos/" or "avatar.*"',
    );
  if (typeof pattern !== "string" || pattern === "") throw outside("is not a non-empty string");
  if (pattern.startsWith("qcs:")) throw outside("is a CAM resource name, not a path under the user's prefix");
  if (pattern.startsWith("/")) throw outside("starts with '/'");
  const segments = (pattern.endsWith("/") ? pattern.slice(0, -1) : pattern).split("/");
  if (segments.some((segment) => segment === "." || segment === "..")) throw outside("has a '.' or '..' segment");
  if (segments.includes("")) throw outside("has an empty segment ('//')");
  if (FORBIDDEN_IN_RESOURCE.test(pattern)) throw outside("holds '\\', '?', '%', braces, whitespace or a control character");
  return pattern.endsWith("/") ? `${pattern}*` : pattern;
}

function parseConditions(value: unknown, refuse: Refuse): ProfileConditions {
  if (value === undefined) return {};
  if (!isRecord(value)) throw refuse("invalid-condition", "conditions is not an object", 'e.g. "conditions": {"maxBytes": 5242880}');
  const unknown = Object.keys(value).find((field) => !CONDITION_FIELDS.has(field));
  if (unknown !== undefined) throw refuse("unknown-field", `'${unknown}' is not a condition`, `use only ${[...CONDITION_FIELDS].join(", ")}`);
  const { maxBytes, contentTypes, pinSourceIp, httpsOnly } = value;
  if (maxBytes !== undefined && !(Number.isSafeInteger(maxBytes) && (maxBytes as number) >= 1 && (maxBytes as number) <= MAX_OBJECT_BYTES)) {
    throw refuse("invalid-condition", "maxBytes is not a whole number of bytes from 1 to 5 GiB", '"maxBytes": 5242880 is 5 MB');
  }
  if (
    contentTypes !== undefined &&
    !(Array.isArray(contentTypes) && contentTypes.length > 0 && contentTypes.every((type) => typeof type === "string" && CONTENT_TYPE.test(type)))
  ) {
    throw refuse("invalid-condition", "contentTypes is not a list of types like image/png or image/*", "'*' may only end a type");
  }
  for (const [field, flag] of [
    ["pinSourceIp", pinSourceIp],
    ["httpsOnly", httpsOnly],
  ] as const) {
    if (flag !== undefined && typeof flag !== "boolean") throw refuse("invalid-condition", `${field} is not true or false`, `write "${field}": true`);
  }
  return {
    ...(maxBytes === undefined ? {} : { maxBytes: maxBytes as number }),
    ...(contentTypes === undefined ? {} : { contentTypes: [...new Set(contentTypes as string[])] }),
    ...(pinSourceIp === true ? { pinSourceIp } : {}),
    ...(httpsOnly === true ? { httpsOnly } : {}),
  };
}

function parseDuration(value: unknown, rules: ProfileRules, refuse: Refuse): number {
  const { minDurationSeconds: min, maxDurationSeconds: max } = rules;
  if (!Number.isSafeInteger(value) || (value as number) < min || (value as number) > max) {
    throw refuse(
      "duration-out-of-range",
      `durationSeconds ${JSON.stringify(value)} is outside ${min}-${max}, what STS allows in this mode`,
      `pick a whole number from ${min} to ${max}`,
    );
  }
  return value as number;
}

function parseExtensions(value: unknown, refuse: Refuse): string[] {
  if (!Array.isArray(value) || value.length === 0 || !value.every((ext) => typeof ext === "string" && EXTENSION.test(ext))) {
    throw refuse("invalid-field", "extensions is not a list of lower-case extensions without dots", 'e.g. "extensions": ["png", "jpg", "webp"]');
  }
  return [...new Set(value as string[])];
}

function parsePrefix(value: unknown, shared: boolean, refuse: Refuse): PrefixTemplate {
  if (typeof value !== "string" || value === "") throw refuse("invalid-prefix", "prefix is not a non-empty string", 'e.g. "prefix": "avatars/{sub_hash}/"');
  let template: PrefixTemplate;
  try {
    template = compilePrefixTemplate(value, { allowShared: true });
  } catch (error) {
    throw refuse("invalid-prefix", `prefix '${value}' is not usable: ${(error as Error).message}`, 'e.g. "prefix": "avatars/{sub_hash}/"');
  }
  if (!template.perUser && !shared) {
    throw refuse(
      "no-per-user-placeholder",
      `prefix '${value}' is the same for every user`,
      'include {sub} or {sub_hash}, or declare an area all users share with "shared": true',
    );
  }
  return template;
}

/** Server-chosen keys land at `<prefix><yyyy>/<mm>/<random>.<ext>`: the profile must cover that, and write it. */
function checkServerChosenKeys(profile: Profile, refuse: Refuse): void {
  if (!profile.extensions) return;
  if (profile.resources.length !== 1 || profile.resources[0] !== "*") {
    throw refuse(
      "invalid-field",
      "extensions (server-chosen keys) need the whole prefix as resource",
      'drop "resources"; set "prefix" to choose where keys go',
    );
  }
  if (!profile.actions.some((action) => writesBody(action))) {
    throw refuse("invalid-field", "extensions (server-chosen keys) need an upload action", 'add "PutObject" or "PostObject"');
  }
  if (profile.actions.some((action) => isBucketAction(action))) {
    throw refuse("invalid-field", "extensions (server-chosen keys) grant one object, which bucket actions cannot name", 'remove "GetBucket"');
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
