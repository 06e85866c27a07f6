import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { builtInProfiles, DEFAULT_PROFILE, type ProfileRules, parseProfiles, profileNamed } from "../../../lib/grant/profiles.ts";
import { BrokerError } from "../../../lib/shared/errors.ts";

const rules: ProfileRules = { variable: "STS_PROFILES", minDurationSeconds: 120, maxDurationSeconds: 7200 };
const parse = (document: unknown) => parseProfiles(JSON.stringify(document), rules);
const refusal = (document: unknown) => {
  try {
    parse(document);
    return undefined;
  } catch (error) {
    return error as BrokerError;
  }
};
const cos = (...names: string[]) => names.map((name) => `name/cos:${name}`);

describe("built-in profiles", () => {
  it("defaults to upload, whose actions are spelled out", () => {
    const profile = profileNamed(builtInProfiles, undefined);
    expect(profile.name).toBe(DEFAULT_PROFILE);
    expect(profile.actions.every((action) => /^name\/cos:[A-Za-z]+$/.test(action))).toBe(true);
    expect(profile.actions).toEqual(
      expect.arrayContaining([
        "name/cos:PutObject",
        "name/cos:PostObject",
        "name/cos:InitiateMultipartUpload",
        "name/cos:UploadPart",
        "name/cos:CompleteMultipartUpload",
        "name/cos:AbortMultipartUpload",
      ]),
    );
  });

  it("has read, list, read-write and delete, each on the whole prefix with no conditions", () => {
    const upload = builtInProfiles.get("upload")!.actions;
    expect(builtInProfiles.get("read")?.actions).toEqual(cos("GetObject", "HeadObject", "OptionsObject"));
    expect(builtInProfiles.get("list")?.actions).toEqual(cos("GetBucket"));
    expect(builtInProfiles.get("read-write")?.actions).toEqual([...upload, ...cos("GetObject", "HeadObject", "OptionsObject")]);
    expect(builtInProfiles.get("delete")?.actions).toEqual(cos("DeleteObject"));
    for (const profile of builtInProfiles.values()) expect(profile).toMatchObject({ resources: ["*"], conditions: {} });
  });

  it.each(["admin", "__proto__", "constructor", "UPLOAD", ""])("refuses unknown profile %j with 403", (name) => {
    expect(() => profileNamed(builtInProfiles, name)).toThrow(
      expect.objectContaining({ code: "ScopeNotAllowed", message: "no such profile; the profiles are upload, read, list, read-write, delete" }),
    );
  });

  it("lists the profiles in force: custom ones, without removed built-ins", () => {
    const { profiles } = parseProfiles('{"read": false, "notes": {"actions": ["GetObject"]}}', rules);
    expect(() => profileNamed(profiles, "read")).toThrow("no such profile; the profiles are upload, list, read-write, delete, notes");
  });

  it("refuses a non-string profile with 400", () => {
    expect(() => profileNamed(builtInProfiles, ["upload"])).toThrow(BrokerError);
    expect(() => profileNamed(builtInProfiles, 7)).toThrow(expect.objectContaining({ code: "BadRequest" }));
  });
});

describe("parseProfiles", () => {
  it("reads the example file: custom profiles, a shared area, a removed built-in", () => {
    const { profiles, warnings } = parseProfiles(readFileSync("examples/profiles.json", "utf8"), rules);
    expect(profiles.get("avatar")).toMatchObject({
      actions: cos("PutObject", "PostObject"),
      resources: ["*"],
      extensions: ["png", "jpg", "jpeg", "webp"],
      conditions: { maxBytes: 5 * 1024 * 1024, contentTypes: ["image/*"], httpsOnly: true },
      durationSeconds: 600,
      prefixTemplate: { source: "avatars/{sub_hash}/", perUser: true },
    });
    expect(profiles.get("photos")?.resources).toEqual(["photos/*"]);
    expect(profiles.get("public-read")?.prefixTemplate).toMatchObject({ source: "public/", perUser: false });
    expect(profiles.has("delete")).toBe(false);
    expect(profiles.get("upload")).toBe(builtInProfiles.get("upload"));
    expect(warnings).toEqual([
      { profile: "public-read", rule: "shared-area", message: expect.stringContaining("every user gets GetObject, HeadObject on the same area 'public/'") },
    ]);
  });

  it("accepts short and full action names, and replaces a built-in of the same name", () => {
    const { profiles } = parse({ upload: { actions: ["PutObject", "name/cos:PostObject", "PutObject"], conditions: { maxBytes: 1024 } } });
    expect(profiles.get("upload")).toMatchObject({ actions: cos("PutObject", "PostObject"), conditions: { maxBytes: 1024 } });
  });

  it.each([
    ["*", "*"],
    ["photos/", "photos/*"],
    ["avatar.*", "avatar.*"],
    ["a/b/c.txt", "a/b/c.txt"],
    ["*/thumbs/", "*/thumbs/*"],
    ["写真/", "写真/*"],
  ])("reads resource %j as %j under the prefix", (pattern, normalized) => {
    expect(parse({ p: { actions: ["GetObject"], resources: [pattern] } }).profiles.get("p")?.resources).toEqual([normalized]);
  });

  it.each<[string, unknown, RegExp]>([
    ["wildcard-action", { actions: ["name/cos:*"] }, /'name\/cos:\*' is a wildcard/],
    ["wildcard-action", { actions: ["*"] }, /wildcard/],
    ["wildcard-action", { actions: ["Get*"] }, /wildcard/],
    ["unknown-action", { actions: ["PutBucketPolicy"] }, /'PutBucketPolicy' is not a COS action/],
    ["unknown-action", { actions: ["name/cvm:RunInstances"] }, /not a COS action/],
    ["unknown-action", { actions: ["putobject"] }, /not a COS action/],
    ["resource-outside-prefix", { actions: ["GetObject"], resources: ["../bob/"] }, /'\.' or '\.\.' segment/],
    ["resource-outside-prefix", { actions: ["GetObject"], resources: ["a/../../x"] }, /'\.\.' segment/],
    ["resource-outside-prefix", { actions: ["GetObject"], resources: ["./x"] }, /segment/],
    ["resource-outside-prefix", { actions: ["GetObject"], resources: ["/etc/"] }, /starts with '\/'/],
    ["resource-outside-prefix", { actions: ["GetObject"], resources: ["qcs::cos:ap-guangzhou:uid/1:b-1/*"] }, /CAM resource name/],
    ["resource-outside-prefix", { actions: ["GetObject"], resources: ["a//b"] }, /empty segment/],
    ["resource-outside-prefix", { actions: ["GetObject"], resources: ["%2e%2e/x"] }, /'%'/],
    ["resource-outside-prefix", { actions: ["GetObject"], resources: ["{sub}/x"] }, /braces/],
    ["resource-outside-prefix", { actions: ["GetObject"], resources: ["a\\..\\b"] }, /holds '\\'/],
    ["resource-outside-prefix", { actions: ["GetObject"], resources: ["a?"] }, /'\?'/],
    ["resource-outside-prefix", { actions: ["GetObject"], resources: [""] }, /non-empty/],
    ["no-per-user-placeholder", { actions: ["GetObject"], prefix: "public/" }, /same for every user.*"shared": true/],
    ["no-per-user-placeholder", { actions: ["GetObject"], prefix: "teams/{team}/" }, /same for every user/],
    ["duration-out-of-range", { actions: ["GetObject"], durationSeconds: 7201 }, /outside 120-7200/],
    ["duration-out-of-range", { actions: ["GetObject"], durationSeconds: 60 }, /outside 120-7200/],
    ["duration-out-of-range", { actions: ["GetObject"], durationSeconds: "900" }, /outside/],
    ["unknown-field", { actions: ["GetObject"], action: ["x"] }, /'action' is not a profile field/],
    ["unknown-field", { actions: ["GetObject"], conditions: { maxSize: 5 } }, /'maxSize' is not a condition/],
    ["invalid-condition", { actions: ["PutObject"], conditions: { maxBytes: 0 } }, /maxBytes/],
    ["invalid-condition", { actions: ["PutObject"], conditions: { maxBytes: 6 * 1024 ** 3 } }, /5 GiB/],
    ["invalid-condition", { actions: ["PutObject"], conditions: { maxBytes: "5 MB" } }, /maxBytes/],
    ["invalid-condition", { actions: ["PutObject"], conditions: { contentTypes: ["image/*/x"] } }, /contentTypes/],
    ["invalid-condition", { actions: ["PutObject"], conditions: { contentTypes: ["*"] } }, /contentTypes/],
    ["invalid-condition", { actions: ["PutObject"], conditions: { contentTypes: [] } }, /contentTypes/],
    ["invalid-condition", { actions: ["PutObject"], conditions: { pinSourceIp: "yes" } }, /pinSourceIp/],
    ["invalid-condition", { actions: ["PutObject"], conditions: [] }, /conditions is not an object/],
    ["invalid-field", { actions: [] }, /actions is not a non-empty array/],
    ["invalid-field", { actions: "PutObject" }, /actions/],
    ["invalid-field", { actions: ["PutObject"], extensions: [".png"] }, /extensions/],
    ["invalid-field", { actions: ["PutObject"], extensions: ["PNG"] }, /lower-case/],
    ["invalid-field", { actions: ["PutObject"], extensions: ["png"], resources: ["photos/"] }, /whole prefix/],
    ["invalid-field", { actions: ["GetObject"], extensions: ["png"] }, /need an upload action/],
    ["invalid-field", { actions: ["PutObject", "GetBucket"], extensions: ["png"] }, /bucket actions/],
    ["invalid-field", { actions: ["GetObject"], shared: "yes" }, /shared/],
    ["invalid-field", "GetObject", /not an object/],
    ["invalid-prefix", { actions: ["GetObject"], prefix: "/users/{sub}/" }, /must not start with/],
    ["invalid-prefix", { actions: ["GetObject"], prefix: "users/{sub}{iss}/" }, /more than one placeholder/],
  ])("refuses rule %s: %j", (rule, definition, message) => {
    const error = refusal({ custom: definition });
    expect(error?.code).toBe("ConfigError");
    expect(error?.message).toContain(`STS_PROFILES: profile 'custom' breaks rule ${rule} (`);
    expect(error?.message).toMatch(message);
  });

  it("refuses a bad name, a false that removes nothing, and JSON that is not an object of profiles", () => {
    expect(refusal({ "../x": { actions: ["GetObject"] } })?.message).toMatch(/breaks rule invalid-name/);
    expect(refusal({ custom: false })?.message).toMatch(/false removes a built-in/);
    expect(refusal(["upload"])?.message).toMatch(/STS_PROFILES is not a JSON object of profiles/);
    expect(() => parseProfiles("{not json", rules)).toThrow(/STS_PROFILES is not valid JSON/);
  });

  it("warns, and starts, for an explicitly shared area", () => {
    const { profiles, warnings } = parse({ pub: { actions: ["GetObject"], prefix: "public/", shared: true } });
    expect(profiles.get("pub")?.prefixTemplate?.perUser).toBe(false);
    expect(warnings).toEqual([{ profile: "pub", rule: "shared-area", message: expect.stringMatching(/GetObject on the same area 'public\/'/) }]);
    // A per-user prefix needs no flag and raises nothing.
    expect(parse({ own: { actions: ["GetObject"], prefix: "files/{sub}/", shared: true } }).warnings).toEqual([]);
  });

  it("keeps the duration within what STS allows in the configured mode", () => {
    const assumeRole = { ...rules, maxDurationSeconds: 43_200 };
    expect(parseProfiles(JSON.stringify({ long: { actions: ["GetObject"], durationSeconds: 43_200 } }), assumeRole).profiles.get("long")?.durationSeconds).toBe(
      43_200,
    );
    expect(refusal({ long: { actions: ["GetObject"], durationSeconds: 43_200 } })?.message).toMatch(/duration-out-of-range/);
  });
});
