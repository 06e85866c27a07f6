/**
 * Which cloud `npm start`, `npm run check` and `npm run policy` work against, and why: real
 * STS as soon as a key (or STS_ENDPOINT) is set; the local emulators when nothing points at
 * Tencent Cloud. Real configuration without a key is neither: falling back to the emulators
 * then would only fail every request later (docs/local-development.md).
 */
import { type Env, readVar } from "../lib/shared/env.ts";

export type CloudMode =
  | { readonly kind: "real" | "emulator"; readonly reason: string }
  /** Configured for Tencent Cloud but with no key to call STS with. */
  | { readonly kind: "incomplete"; readonly problem: string };

const KEY_VARIABLES = ["STS_SECRET_ID", "STS_SECRET_KEY", "TENCENTCLOUD_SECRETID", "TENCENTCLOUD_SECRETKEY", "STS_ENDPOINT"];
/** Set only for a real account: the emulator's made-up bucket and region need neither. */
const CLOUD_VARIABLES = ["STS_ROLE_ARN", "COS_BUCKET", "COS_REGION"];

export function cloudMode(env: Env): CloudMode {
  const set = (names: readonly string[]) => names.filter((name) => readVar(env, name) !== undefined);
  const keys = set(KEY_VARIABLES);
  if (keys.length > 0) return { kind: "real", reason: `${words(keys)} ${keys.length === 1 ? "is" : "are"} set` };
  const cloud = set(CLOUD_VARIABLES);
  if (cloud.length > 0) {
    // A .env written for `npm run deploy` holds the deployer's key under this name.
    const deployKey = set(["TENCENTCLOUD_SECRET_ID"]).length > 0 ? " (TENCENTCLOUD_SECRET_ID is npm run deploy's key; the broker does not use it)" : "";
    return {
      kind: "incomplete",
      problem:
        `${words(cloud)} ${cloud.length === 1 ? "is" : "are"} set, as for Tencent Cloud, but no key to call STS with: ` +
        `set STS_SECRET_ID and STS_SECRET_KEY (the API key of a CAM user allowed to call STS) in the shell or .env${deployKey}, ` +
        `or unset ${words(cloud, "and")} to run on the local emulators`,
    };
  }
  return { kind: "emulator", reason: `no STS key is set (STS_SECRET_ID and STS_SECRET_KEY), nor ${words(CLOUD_VARIABLES, "or")}` };
}

function words(names: readonly string[], last = "and"): string {
  return names.length < 2 ? names.join("") : `${names.slice(0, -1).join(", ")} ${last} ${names.at(-1)}`;
}
