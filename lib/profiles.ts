/**
 * Permission profiles: named sets of COS actions a credential may carry.
 * Action names are spelled out in full (`name/cos:PutObject`), never wildcards.
 */
import { BrokerError } from "./errors.ts";

export interface Profile {
  readonly name: string;
  readonly actions: readonly string[];
}

export const DEFAULT_PROFILE = "upload";

/** Everything an upload needs, simple or multipart, incl. PostObject for mini-programs (PRODUCT.md, COS upload set). */
const UPLOAD_ACTIONS = [
  "PutObject",
  "PostObject",
  "InitiateMultipartUpload",
  "ListMultipartUploads",
  "ListParts",
  "UploadPart",
  "CompleteMultipartUpload",
  "AbortMultipartUpload",
].map((action) => `name/cos:${action}`);

export const builtInProfiles: ReadonlyMap<string, Profile> = new Map([
  [DEFAULT_PROFILE, { name: DEFAULT_PROFILE, actions: UPLOAD_ACTIONS }],
]);

/** The profile a request names; unknown names are a 403, a non-string a 400. */
export function profileNamed(profiles: ReadonlyMap<string, Profile>, name: unknown): Profile {
  if (name === undefined || name === null) name = DEFAULT_PROFILE;
  if (typeof name !== "string") throw new BrokerError("BadRequest", "profile must be a string");
  const profile = profiles.get(name);
  if (!profile) throw new BrokerError("ScopeNotAllowed", "no such profile, or not allowed");
  return profile;
}
