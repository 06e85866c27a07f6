/**
 * The container image, without a Docker daemon: the Dockerfile's structure (two stages on one
 * slim Node 20 image, the server bundle alone in the final one, a non-root user, a health check
 * against the health path), then what it runs: its CMD, exactly, in the built bundle's folder
 * (what the final stage's WORKDIR holds) with its ENV, and its HEALTHCHECK command beside it.
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { HEALTH_PATH } from "../../functions/server/index.ts";
import { ROOT } from "../../scripts/bundle.ts";
import { type Harness, startHarness } from "../support/harness.ts";
import { type ServerProcess, startServerProcess } from "../support/server.ts";
import { hsToken } from "../support/tokens.ts";

interface Instruction {
  readonly keyword: string;
  readonly args: string;
}

/** Instructions in order: comments dropped, continuation lines joined. */
function instructions(text: string): Instruction[] {
  return text
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith("#"))
    .map((line) => {
      const [keyword = "", ...rest] = line.split(/\s+/);
      return { keyword: keyword.toUpperCase(), args: rest.join(" ") };
    });
}

/** The stages, each a list of instructions after its FROM; ARGs before the first FROM are the global ones. */
function stages(all: readonly Instruction[]): { from: string; body: Instruction[] }[] {
  const found: { from: string; body: Instruction[] }[] = [];
  for (const instruction of all) {
    if (instruction.keyword === "FROM") found.push({ from: instruction.args, body: [] });
    else found.at(-1)?.body.push(instruction);
  }
  return found;
}

/** An exec-form command (`["node", "index.js"]`) as its argv. */
const execForm = (args: string) => JSON.parse(args) as string[];

const dockerfile = instructions(readFileSync(join(ROOT, "Dockerfile"), "utf8"));
const [build, final] = stages(dockerfile);
const globalArgs = Object.fromEntries(
  dockerfile
    .slice(
      0,
      dockerfile.findIndex((instruction) => instruction.keyword === "FROM"),
    )
    .filter((instruction) => instruction.keyword === "ARG")
    .map((instruction) => instruction.args.split("=") as [string, string]),
);
const one = (keyword: string) => {
  const found = final!.body.filter((instruction) => instruction.keyword === keyword);
  expect(found, keyword).toHaveLength(1);
  return found[0]!.args;
};
/** The final stage's ENV, `A=1 B=2` form. */
const imageEnv = () =>
  Object.fromEntries(
    one("ENV")
      .split(/\s+/)
      .map((pair) => pair.split("=") as [string, string]),
  );
const healthCheck = () => execForm(one("HEALTHCHECK").replace(/^.*?CMD\s+/, ""));
/** What runs where the final stage puts it: the built server bundle, as COPY --from=build takes it. */
const appDir = join(inject("bundleDir"), "server");
/** `node` on the PATH, as in the image. */
const PATH = dirname(process.execPath);

describe("the Dockerfile", () => {
  it("builds in one stage and runs in another, both on the same slim Node 20", () => {
    expect(stages(dockerfile)).toHaveLength(2);
    expect(globalArgs.NODE_IMAGE).toMatch(/^node:20(\.\d+)*-(bookworm-|bullseye-)?slim$/);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the Dockerfile's own ${ARG} syntax
    const image = "${NODE_IMAGE}";
    expect(build!.from).toBe(`${image} AS build`);
    expect(final!.from).toBe(image);
    expect(build!.body.map((instruction) => `${instruction.keyword} ${instruction.args}`)).toEqual(
      expect.arrayContaining(["RUN npm ci --no-audit --no-fund", "RUN npm run build"]),
    );
  });

  it("puts the server bundle alone in the image, owned by root, and runs it as a user that is not root", () => {
    const copies = final!.body.filter((instruction) => instruction.keyword === "COPY" || instruction.keyword === "ADD");
    expect(copies.map((instruction) => instruction.args)).toEqual(["--from=build /src/dist/server/ ./"]);
    expect(one("WORKDIR")).toBe("/app");
    const user = one("USER");
    expect(["root", "0", "0:0"]).not.toContain(user);
    // USER comes after the COPY, so the files stay root's and read-only to the server.
    const order = final!.body.map((instruction) => instruction.keyword);
    expect(order.indexOf("USER")).toBeGreaterThan(order.indexOf("COPY"));
    expect(readdirSync(appDir).sort()).toEqual(["app.cache", "app.js", "index.js", "scf_bootstrap"]);
  });

  it("listens where it says, and checks its health at the health path", () => {
    expect(imageEnv()).toMatchObject({ NODE_ENV: "production", PORT: "9000", HOST: "0.0.0.0" });
    expect(one("EXPOSE")).toBe(imageEnv().PORT);
    expect(one("HEALTHCHECK")).toMatch(/--interval=\d+s --timeout=\d+s/);
    expect(healthCheck()[0]).toBe("node");
    expect(healthCheck().join(" ")).toContain(`'${HEALTH_PATH}'`);
    expect(execForm(one("CMD"))).toEqual(["node", "index.js"]);
  });

  it("leaves out of the build what it never needs: installed modules, build output, secrets", () => {
    const ignored = readFileSync(join(ROOT, ".dockerignore"), "utf8").split("\n");
    for (const entry of ["node_modules", "dist", ".env", ".git"]) expect(ignored).toContain(entry);
  });
});

describe("what the image runs", () => {
  let harness: Harness;
  let server: ServerProcess | undefined;
  beforeAll(async () => {
    harness = await startHarness();
  });
  afterAll(async () => {
    await server?.stop();
    await harness.close();
  });

  const start = (extra: Record<string, string> = {}) => {
    const [command, ...args] = execForm(one("CMD"));
    return startServerProcess({ command: command!, args, cwd: appDir, env: { ...imageEnv(), ...harness.env, ...extra, PATH } });
  };
  /** HEALTHCHECK's command, against a server's port; its exit code. */
  const checkHealth = (port: string) => {
    const [command, ...args] = healthCheck();
    return spawnSync(command!, args, { env: { ...imageEnv(), PORT: port, PATH }, timeout: 10_000 }).status;
  };

  it("CMD serves the broker, and HEALTHCHECK finds it healthy; stopped with SIGTERM it exits 0, and is unhealthy", async () => {
    server = await start();
    const refused = await fetch(server.origin, { method: "POST" });
    expect(refused.status).toBe(401);
    const issued = await fetch(server.origin, { method: "POST", headers: { authorization: `Bearer ${await hsToken({ sub: "alice" })}` } });
    expect(issued.status).toBe(200);
    expect(((await issued.json()) as { prefix: string }).prefix).toBe("users/alice/");
    const port = new URL(server.origin).port;
    expect(checkHealth(port)).toBe(0);
    expect(await server.stop()).toBe(0);
    server = undefined;
    expect(checkHealth(port)).toBe(1);
  });

  it("misconfigured, it still serves (every request a 500 ConfigError) but HEALTHCHECK calls it unhealthy", async () => {
    server = await start({ COS_BUCKET: "" });
    expect(((await (await fetch(server.origin, { method: "POST" })).json()) as { error: { code: string } }).error.code).toBe("ConfigError");
    expect(checkHealth(new URL(server.origin).port)).toBe(1);
    await server.stop();
    server = undefined;
  });

  it("refuses to start on a bad server setting, naming it, with exit code 1", () => {
    const [command, ...args] = execForm(one("CMD"));
    const run = spawnSync(command!, args, { cwd: appDir, env: { ...imageEnv(), ...harness.env, PORT: "ninety", PATH }, timeout: 10_000, encoding: "utf8" });
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/"event":"server_config_error".*PORT must be a whole number/);
  });
});
