/** Which cloud the dev tools use, and why: never a silent fall-back to the emulators. */
import { describe, expect, it } from "vitest";
import { cloudMode } from "../../dev/mode.ts";

describe("cloudMode", () => {
  it("runs the emulators when nothing points at Tencent Cloud, a JWT source or profiles alone included", () => {
    for (const env of [{}, { JWT_SECRET: "s".repeat(40), STS_PROFILES_FILE: "p.json" }, { COS_BUCKET: " " }]) {
      expect(cloudMode(env)).toEqual({
        kind: "emulator",
        reason: "no STS key is set (STS_SECRET_ID and STS_SECRET_KEY), nor STS_ROLE_ARN, COS_BUCKET or COS_REGION",
      });
    }
  });

  it.each<[Record<string, string>, string]>([
    [{ STS_SECRET_ID: "i", STS_SECRET_KEY: "k" }, "STS_SECRET_ID and STS_SECRET_KEY are set"],
    [{ TENCENTCLOUD_SECRETID: "i", TENCENTCLOUD_SECRETKEY: "k", COS_BUCKET: "b-1" }, "TENCENTCLOUD_SECRETID and TENCENTCLOUD_SECRETKEY are set"],
    [{ STS_SECRET_ID: "i" }, "STS_SECRET_ID is set"],
    [{ STS_ENDPOINT: "http://127.0.0.1:9100" }, "STS_ENDPOINT is set"],
  ])("talks to real STS when a key is set: %j", (env, reason) => {
    expect(cloudMode(env)).toEqual({ kind: "real", reason });
  });

  it("calls real configuration without a key incomplete, naming what to set and what to unset", () => {
    const mode = cloudMode({ STS_ROLE_ARN: "qcs::cam::uin/1:roleName/r", COS_BUCKET: "b-1250000001", COS_REGION: "ap-shanghai", JWT_SECRET: "s".repeat(40) });
    expect(mode).toEqual({
      kind: "incomplete",
      problem:
        "STS_ROLE_ARN, COS_BUCKET and COS_REGION are set, as for Tencent Cloud, but no key to call STS with: set STS_SECRET_ID and STS_SECRET_KEY " +
        "(the API key of a CAM user allowed to call STS) in the shell or .env, or unset STS_ROLE_ARN, COS_BUCKET and COS_REGION to run on the local emulators",
    });
    expect(cloudMode({ COS_BUCKET: "b-1250000001" })).toMatchObject({ kind: "incomplete", problem: expect.stringMatching(/^COS_BUCKET is set, as for/) });
  });

  it("says that npm run deploy's key, from a .env written for deploying, is not the broker's", () => {
    const mode = cloudMode({ TENCENTCLOUD_SECRET_ID: "AKIDdeployer", TENCENTCLOUD_SECRET_KEY: "k", STS_ROLE_ARN: "qcs::cam::uin/1:roleName/r" });
    expect(mode).toMatchObject({
      kind: "incomplete",
      problem: expect.stringContaining(
        "in the shell or .env (TENCENTCLOUD_SECRET_ID is npm run deploy's key; the broker does not use it), or unset STS_ROLE_ARN",
      ),
    });
  });
});
