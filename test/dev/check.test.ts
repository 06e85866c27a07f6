/** `npm run check` as a newcomer runs it: nothing configured, then a broken configuration. */
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { runScript } from "../support/spawn.ts";

describe("npm run check", () => {
  it("passes against the embedded STS emulator and COS server with nothing configured", async () => {
    const result = await runScript("dev/check.ts", []);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("Credential check against the local STS emulator and COS server");
    expect(result.stdout).toContain(
      "(local emulators, because no STS key is set (STS_SECRET_ID and STS_SECRET_KEY), nor STS_ROLE_ARN, COS_BUCKET or COS_REGION)",
    );
    for (const name of ["configuration", "issuance", "credential sanity", "fence probe"]) expect(result.stdout).toMatch(new RegExp(`PASS  ${name}`));
    expect(result.stdout).toMatch(/SKIP {2}identity provider keys/);
    expect(result.stdout).toContain("All checks passed");
  });

  it("prints the timer function's log line with --json", async () => {
    const result = await runScript("dev/check.ts", ["--json"]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout.trim())).toMatchObject({ event: "credential_check", outcome: "passed", trigger: "npm run check" });
  });

  it("fails, exit code 1, on a configuration the broker would refuse", async () => {
    const result = await runScript("dev/check.ts", [], {
      STS_SECRET_ID: "id",
      STS_SECRET_KEY: "key",
      COS_REGION: "ap-guangzhou",
      JWT_SECRET: randomBytes(32).toString("base64"),
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/FAIL {2}configuration +\d+ ms {2}COS_BUCKET is required/);
    expect(result.stdout).toMatch(/---- {2}issuance/);
    expect(result.stdout).toContain("The check FAILED");
  });

  it("refuses real configuration without an STS key, exit code 1, instead of checking the emulators", async () => {
    const result = await runScript("dev/check.ts", [], { STS_ROLE_ARN: "qcs::cam::uin/1:roleName/r", COS_BUCKET: "b-1300000001", COS_REGION: "ap-shanghai" });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(/^The configuration is incomplete: STS_ROLE_ARN, COS_BUCKET and COS_REGION are set, .* set STS_SECRET_ID and STS_SECRET_KEY/);
  });
});
