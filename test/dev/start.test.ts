/** `npm start` on a fresh machine: no configuration, a printed token, working credentials. */
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEV_JWT_SECRET } from "../../dev/defaults.ts";
import { recordSecret } from "../support/capture.ts";
import { runScript, spawnScript, waitForOutput } from "../support/spawn.ts";

/** A JWT secret of this run only: beside real STS, a secret published in this repository is refused. */
const OWN_SECRET = randomBytes(32).toString("base64");
recordSecret("jwt-secret", OWN_SECRET);

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
    expect(output).toContain(
      "Mode: local emulators, because no STS key is set (STS_SECRET_ID and STS_SECRET_KEY), nor STS_ROLE_ARN, COS_BUCKET or COS_REGION.",
    );
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

  it("prints one readable line per request: time, status, profile, key or prefix, subject, milliseconds, the refusal's reason", async () => {
    const output = await started;
    const url = /listening on (\S+)/.exec(output)![1];
    const token = /Dev token[^\n]*\n(\S+)\n/.exec(output)![1];
    const logged = waitForOutput(child!, /Key.*\n/);
    await fetch(`${url}/`, { method: "POST", headers: { authorization: `Bearer ${token}` }, body: '{"key":"notes/a.txt"}' });
    await fetch(`${url}/`, { method: "POST", headers: { authorization: `Bearer ${token}` }, body: '{"Key":"a.txt"}' });
    // Lines of the requests above may still arrive first: pick this test's two.
    const lines = (await logged).split("\n").filter((line) => /notes\/a\.txt|'Key'/.test(line));
    expect(lines).toEqual([
      expect.stringMatching(/^\d\d:\d\d:\d\d {2}200 issued {4}POST profile=upload key=users\/alice\/notes\/a\.txt subject=\S{8} {2}\d+ ms$/),
      expect.stringMatching(
        /^\d\d:\d\d:\d\d {2}400 refused {3}POST subject=\S+ {2}\d+ ms {2}BadRequest: unknown field 'Key' in the request body; did you mean 'key'\?/,
      ),
    ]);
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

describe("npm start -- --json", () => {
  it("prints the JSON lines the deployed function writes", async () => {
    const child = spawnScript("dev/start.ts", ["--json"], { PORT: "0" });
    try {
      const output = await waitForOutput(child, /Requests are logged below as JSON lines\.\n/);
      const url = /listening on (\S+)/.exec(output)![1];
      const logged = waitForOutput(child, /"event":"request".*\n/);
      await fetch(`${url}/`, { method: "POST" });
      expect(JSON.parse((await logged).trim())).toMatchObject({ level: "info", event: "request", status: 401, code: "InvalidToken" });
    } finally {
      child.kill("SIGTERM");
    }
  });
});

describe("npm run token", () => {
  it("prints usage and fails without --sub", async () => {
    const result = await runScript("dev/token.ts", []);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--sub is required\nusage: npm run token -- --sub");
  });

  it("fails with usage on an option it does not know", async () => {
    const result = await runScript("dev/token.ts", ["--subject", "bob"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/Unknown option '--subject'[\s\S]*usage: npm run token/);
  });
});

describe("npm start with a broken configuration", () => {
  it("exits with every problem at once, one a line, each naming the variable", async () => {
    const result = await runScript("dev/start.ts", [], {
      PORT: "0",
      STS_SECRET_ID: "id",
      STS_SECRET_KEY: "key",
      COS_REGION: "ap-guangzhou",
      JWT_SECRET: "short",
      RATE_LIMIT_BURST: "0",
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /The broker is not configured correctly:\n {2}- COS_BUCKET is required: [^\n]+\n {2}- JWT_SECRET is shorter than 32 bytes: [^\n]+\n {2}- RATE_LIMIT_BURST must be [^\n]+\n/,
    );
  });

  it("refuses real configuration without an STS key instead of running the emulators, naming the variables to set", async () => {
    const real = { COS_BUCKET: "mybucket-1300000001", COS_REGION: "ap-shanghai", JWT_SECRET: OWN_SECRET };
    const result = await runScript("dev/start.ts", [], { PORT: "0", STS_ROLE_ARN: "qcs::cam::uin/100000000001:roleName/cos-uploader", ...real });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain(
      "STS_ROLE_ARN, COS_BUCKET and COS_REGION are set, as for Tencent Cloud, but no key to call STS with: set STS_SECRET_ID and STS_SECRET_KEY",
    );
  });

  it("says it talks to Tencent Cloud, and why, when a key is set", async () => {
    const child = spawnScript("dev/start.ts", [], {
      PORT: "0",
      STS_SECRET_ID: "AKIDexample",
      STS_SECRET_KEY: "example-key",
      COS_BUCKET: "mybucket-1300000001",
      COS_REGION: "ap-shanghai",
      JWT_SECRET: OWN_SECRET,
    });
    try {
      const output = await waitForOutput(child, /Requests are logged below/);
      expect(output).toContain("Mode: Tencent Cloud, because STS_SECRET_ID and STS_SECRET_KEY are set.\nSTS: sts.tencentcloudapi.com (GetFederationToken)");
      expect(output).not.toContain("emulator");
    } finally {
      child.kill("SIGTERM");
    }
  });
});

describe("npm start with a port in use", () => {
  let holder: Server;
  let port: number;
  beforeAll(async () => {
    holder = createServer();
    await new Promise<void>((done) => holder.listen(0, "127.0.0.1", done));
    port = (holder.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((done) => holder.close(() => done())));

  it.each([
    ["broker", "PORT", { SITE_PORT: "0" }],
    ["upload page", "SITE_PORT (default PORT+1)", { PORT: "0" }],
  ])("names the %s and the variable that moves it (%s)", async (server, variable, other) => {
    const key = variable === "PORT" ? "PORT" : "SITE_PORT";
    const result = await runScript("dev/start.ts", [], { ...other, [key]: String(port) });
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe(
      `port ${port} is already in use, so the ${server} cannot listen there: stop the process that holds it, or set ${variable} to a free port`,
    );
  });
});

describe("every npm script's --help", () => {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { scripts: Record<string, string> };
  const files = Object.entries(pkg.scripts).flatMap(([name, command]) => {
    const file = /\btsx (\S+\.ts)$/.exec(command)?.[1];
    return file ? [[name, file] as const] : [];
  });

  it("covers the scripts written here, and the STS emulator's own CLI", () => {
    expect(files.map(([name]) => name)).toEqual([
      "start",
      "token",
      "policy",
      "check",
      "wxcode",
      "build",
      "package",
      "deploy",
      "undeploy",
      "size",
      "bench",
      "bench:load",
    ]);
  });

  it.each([...files, ["the STS emulator", "dev/sts-emulator/cli.ts"] as const])(
    "npm run %s -- --help exits 0 with usage and does nothing else",
    async (_name, file) => {
      const result = await runScript(file, ["--help"]);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toMatch(/^usage: /);
      expect(result.stderr).toBe("");
    },
  );
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
