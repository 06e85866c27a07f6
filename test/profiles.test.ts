import { describe, expect, it } from "vitest";
import { BrokerError } from "../lib/errors.ts";
import { builtInProfiles, DEFAULT_PROFILE, profileNamed } from "../lib/profiles.ts";

describe("profiles", () => {
  it("defaults to upload, whose actions are spelled out", () => {
    const profile = profileNamed(builtInProfiles, undefined);
    expect(profile.name).toBe(DEFAULT_PROFILE);
    expect(profile.actions.every((action) => /^name\/cos:[A-Za-z]+$/.test(action))).toBe(true);
    expect(profile.actions).toEqual(
      expect.arrayContaining(["name/cos:PutObject", "name/cos:PostObject", "name/cos:InitiateMultipartUpload", "name/cos:UploadPart", "name/cos:CompleteMultipartUpload", "name/cos:AbortMultipartUpload"]),
    );
  });

  it.each(["admin", "__proto__", "constructor", "UPLOAD", ""])("refuses unknown profile %j with 403", (name) => {
    expect(() => profileNamed(builtInProfiles, name)).toThrow(expect.objectContaining({ code: "ScopeNotAllowed" }));
  });

  it("refuses a non-string profile with 400", () => {
    expect(() => profileNamed(builtInProfiles, ["upload"])).toThrow(BrokerError);
    expect(() => profileNamed(builtInProfiles, 7)).toThrow(expect.objectContaining({ code: "BadRequest" }));
  });
});
