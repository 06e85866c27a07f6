/** `npm start` on a fresh machine: no configuration, a printed token, working credentials. */
import type { ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { DEV_JWT_SECRET } from "../../dev/defaults.ts";
import { recordSecret } from "../support/capture.ts";
import { runScript, spawnScript, waitForOutput } from "../support/spawn.ts";

describe("npm start with nothing configured", () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    child?.kill("SIGTERM");
  });

  let started: Promise<string>;

  it("serves credentials to the printed dev token, and says the emulator's are fake", async () => {
    child = spawnScript("dev/start.ts", [], { PORT: "0" });
    started = waitForOutput(child, /curl .*\n/);
    const output = await started;
    expect(output).toMatch(/DO NOT work on Tencent Cloud/);
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
    const token = /Dev token[^\n]*\n(\S+)\n/.exec(output)?.[1];
    expect(url && token).toBeTruthy();
    // The child's log lines are scanned for these (test/support/leak-check.ts).
    recordSecret("jwt-secret", DEV_JWT_SECRET);
    recordSecret("jwt", token);

    const response = await fetch(`${url}/`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: '{"profile":"upload"}',
    });
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

  it("serves the upload page with its config, the SDK, dev tokens and a COS server, and prints one URL to open", async () => {
    const output = await started;
    const opens = output.match(/^Open (\S+)/gm) ?? [];
    expect(opens).toHaveLength(1);
    const site = /^Open (http:\/\/127\.0\.0\.1:\d+\/) to sign in and upload/m.exec(output)?.[1];
    const broker = /listening on (\S+)/.exec(output)?.[1];
    const cos = /COS: local server at (\S+) for bucket examplebucket-1250000000/.exec(output)?.[1];
    expect(site && broker && cos).toBeTruthy();

    const page = await fetch(site!);
    expect(page.headers.get("content-type")).toContain("text/html");
    expect(await page.text()).toContain('<script src="vendor/cos-js-sdk-v5.min.js">');
    expect((await fetch(`${site}vendor/cos-js-sdk-v5.min.js`)).status).toBe(200);
    const config = (await (await fetch(`${site}config.json`)).json()) as Record<string, any>;
    expect(config).toEqual({
      brokerUrl: `${broker}/`,
      cos: { Domain: `{Bucket}.cos.{Region}.localhost:${new URL(cos!).port}`, Protocol: "http:" },
      devTokens: true,
    });
    expect((await fetch(`${site}../../package.json`)).status).toBe(404);

    const { token } = (await (await fetch(`${site}dev-token?sub=carol`)).json()) as { token: string };
    const issued = await fetch(`${broker}/`, { method: "POST", headers: { authorization: `Bearer ${token}`, origin: new URL(site!).origin } });
    expect(((await issued.json()) as { prefix: string }).prefix).toBe("users/carol/");
    expect(issued.headers.get("access-control-allow-origin")).toBe(new URL(site!).origin);
    expect((await fetch(`${site}dev-token?sub=${encodeURIComponent("../x")}`)).status).toBe(400);

    const unsigned = await fetch(`${cos}/examplebucket-1250000000/users/carol/x`);
    expect(unsigned.status).toBe(403);
    expect(await unsigned.text()).toContain("<Code>AccessDenied</Code>");
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
    const result = await runScript("dev/start.ts", [], {
      PORT: "0",
      STS_SECRET_ID: "id",
      STS_SECRET_KEY: "key",
      COS_REGION: "ap-guangzhou",
      JWT_SECRET: "s".repeat(40),
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("COS_BUCKET is required");
  });
});

describe("package.json scripts", () => {
  it("run the files these tests run, and every tsx script names a file that exists", () => {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { scripts: Record<string, string> };
    expect(pkg.scripts).toMatchObject({ start: "tsx dev/start.ts", token: "tsx dev/token.ts", test: expect.stringContaining("vitest run") });
    for (const command of Object.values(pkg.scripts)) {
      for (const [, file] of command.matchAll(/tsx (\S+\.ts)/g)) expect(existsSync(new URL(`../../${file}`, import.meta.url)), file).toBe(true);
    }
  });
});
