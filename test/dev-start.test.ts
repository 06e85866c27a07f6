/** `npm start` on a fresh machine: no configuration, a printed token, working credentials. */
import type { ChildProcess } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import { DEV_JWT_SECRET } from "../dev/defaults.ts";
import { recordSecret } from "./support/capture.ts";
import { runScript, spawnScript, waitForOutput } from "./support/spawn.ts";

describe("npm start with nothing configured", () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    child?.kill("SIGTERM");
  });

  it("serves credentials to the printed dev token, and says the emulator's are fake", async () => {
    child = spawnScript("dev/start.ts", [], { PORT: "0" });
    const output = await waitForOutput(child, /curl .*\n/);
    expect(output).toMatch(/DO NOT work on Tencent Cloud/);
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
    const token = /Dev token[^\n]*\n(\S+)\n/.exec(output)?.[1];
    expect(url && token).toBeTruthy();
    // The child's log lines are scanned for these (test/support/leak-check.ts).
    recordSecret("jwt-secret", DEV_JWT_SECRET);
    recordSecret("jwt", token);

    const response = await fetch(`${url}/`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: '{"profile":"upload"}' });
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
    const body = (await response.json()) as Record<string, any>;
    expect(body).toMatchObject({ prefix: "users/alice/", bucket: "examplebucket-1250000000", region: "ap-guangzhou", profile: "upload" });
    expect(body.credentials.tmpSecretId).toMatch(/^AKID/);
    recordSecret("tmpSecretKey", body.credentials.tmpSecretKey);
    recordSecret("sessionToken", body.credentials.sessionToken);

    const minted = await runScript("dev/token.ts", ["--sub", "bob"]);
    expect(minted.code).toBe(0);
    recordSecret("jwt", minted.stdout.trim());
    const bob = await fetch(`${url}/`, { method: "POST", headers: { authorization: `Bearer ${minted.stdout.trim()}` } });
    expect(((await bob.json()) as { prefix: string }).prefix).toBe("users/bob/");

    const anonymous = await fetch(`${url}/`, { method: "POST" });
    expect(anonymous.status).toBe(401);
  });
});

describe("npm run token", () => {
  it("prints usage and fails without --sub", async () => {
    const result = await runScript("dev/token.ts", []);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("usage: npm run token -- --sub");
  });
});

describe("npm start with a broken configuration", () => {
  it("exits with a message naming the variable", async () => {
    const result = await runScript("dev/start.ts", [], { PORT: "0", STS_SECRET_ID: "id", STS_SECRET_KEY: "key", COS_REGION: "ap-guangzhou", JWT_SECRET: "s".repeat(40) });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("COS_BUCKET is required");
  });
});
