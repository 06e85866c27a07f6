import { describe, expect, it } from "vitest";
import { chooseKey, longestChosenKey } from "../../../lib/grant/keys.ts";
import type { Profile } from "../../../lib/grant/profiles.ts";
import { codeOf } from "../../support/outcome.ts";

const avatar: Profile = { name: "avatar", actions: ["name/cos:PutObject"], resources: ["*"], conditions: {}, extensions: ["png", "jpg", "webp"] };
const NOW = Date.UTC(2026, 2, 9, 12);
const choose = (filename: unknown, nowMs = NOW) => chooseKey(avatar, "users/alice/", filename, nowMs);

const codeOfChoosing = (filename: unknown) => codeOf(() => choose(filename));

describe("chooseKey", () => {
  it("answers <prefix><yyyy>/<mm>/<random>.<ext>, the extension lower-cased", () => {
    expect(choose("Me.PNG")).toMatch(/^users\/alice\/2026\/03\/[A-Za-z0-9_-]{22}\.png$/);
    expect(choose("holiday.photo.JpG")).toMatch(/\.jpg$/);
  });

  it("takes year and month from the clock in UTC", () => {
    expect(choose("a.png", Date.UTC(2025, 11, 31, 23, 59))).toMatch(/^users\/alice\/2025\/12\//);
    expect(choose("a.png", Date.UTC(2026, 0, 1, 0, 0))).toMatch(/^users\/alice\/2026\/01\//);
  });

  it("keeps nothing of the client's name but the extension, and never repeats", () => {
    const keys = new Set(Array.from({ length: 500 }, () => choose("secret plans <script>.png")));
    expect(keys.size).toBe(500);
    for (const key of keys) expect(key).not.toMatch(/secret|plans|script|[<> ]/);
  });

  it.each(["me.gif", "me.html", "me.png.exe", "me.svg"])("refuses %j, outside the allow-list, with 403", (filename) => {
    expect(codeOfChoosing(filename)).toBe("ScopeNotAllowed");
  });

  it.each([
    ["no extension", "photo"],
    ["a dot file", ".png"],
    ["an empty extension", "me."],
    ["a path", "a/b.png"],
    ["a Windows path", "a\\b.png"],
    ["a control character", "me\u0000.png"],
    ["an extension with a space", "me. png"],
    ["a long extension", `me.${"p".repeat(17)}`],
    ["empty", ""],
    ["too long", `${"a".repeat(252)}.png`],
    ["a number", 7],
    ["an object", { name: "a.png" }],
  ])("answers 400 for a malformed file name (%s)", (_why, filename) => {
    expect(codeOfChoosing(filename)).toBe("BadRequest");
  });

  it("refuses with 403 for a profile that does not choose keys", () => {
    expect(() => chooseKey({ ...avatar, extensions: undefined }, "users/alice/", "a.png", NOW)).toThrow(expect.objectContaining({ code: "ScopeNotAllowed" }));
  });

  it("bounds the key length the policy-size lint plans for", () => {
    const longExtension = "abcdefghijklmnop";
    const chosen = chooseKey({ ...avatar, extensions: [longExtension] }, "users/alice/", `a.${longExtension}`, NOW);
    expect(longestChosenKey("users/alice/")).toHaveLength(chosen.length);
  });
});
