/**
 * Server-chosen object keys: the safe version of Tencent's `getKeyAndCredentials` demo. The
 * client sends only a file name; the broker keeps nothing of it but a checked extension and
 * answers `<prefix><yyyy>/<mm>/<random>.<ext>`, so no client text ever reaches a key.
 */
import { randomBytes } from "node:crypto";
import type { EpochMs } from "../shared/clock.ts";
import { BrokerError } from "../shared/errors.ts";
import { EXTENSION, type Profile } from "./profiles.ts";

const MAX_FILENAME_CHARS = 255;
/** 128 bits from the CSPRNG, base64url: unguessable, URL-safe, 22 characters. */
const RANDOM_BYTES = 16;
const FORBIDDEN_IN_FILENAME = /[/\\\p{Cc}\uD800-\uDFFF]/u;

/** The longest key chooseKey can return under `prefix`, for the policy-size lint. */
export function longestChosenKey(prefix: string): string {
  return `${prefix}0000/00/${"x".repeat(Math.ceil((RANDOM_BYTES * 4) / 3))}.${"x".repeat(16)}`;
}

/**
 * A malformed file name is the client's mistake (400 BadRequest); a well-formed one whose
 * extension the profile does not allow is a refusal (403 ScopeNotAllowed).
 */
export function chooseKey(profile: Profile, prefix: string, filename: unknown, nowMs: EpochMs): string {
  const allowed = profile.extensions;
  if (!allowed) throw new BrokerError("ScopeNotAllowed", `profile '${profile.name}' does not choose keys; send key or scope instead of filename`);
  if (typeof filename !== "string" || filename.length === 0 || filename.length > MAX_FILENAME_CHARS) {
    throw new BrokerError("BadRequest", `filename must be a string of 1-${MAX_FILENAME_CHARS} characters`);
  }
  if (FORBIDDEN_IN_FILENAME.test(filename)) throw new BrokerError("BadRequest", "filename must be a bare file name, without '/', '\\' or control characters");
  const dot = filename.lastIndexOf(".");
  const extension = dot > 0 ? filename.slice(dot + 1).toLowerCase() : "";
  if (!EXTENSION.test(extension)) throw new BrokerError("BadRequest", "filename must end in an extension of 1-16 letters or digits, e.g. photo.png");
  if (!allowed.includes(extension)) {
    throw new BrokerError("ScopeNotAllowed", `profile '${profile.name}' accepts only ${allowed.map((ext) => `.${ext}`).join(", ")} files`);
  }
  const date = new Date(nowMs);
  const month = String(date.getUTCMonth() + 1).padStart(2, "0");
  return `${prefix}${date.getUTCFullYear()}/${month}/${randomBytes(RANDOM_BYTES).toString("base64url")}.${extension}`;
}
