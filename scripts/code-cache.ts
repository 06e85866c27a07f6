/**
 * V8 code caches for the deployed bundles. Each function's index.js is scripts/loader.cjs,
 * which runs app.js (the bundle) with app.cache. The cache is made here, in a fresh `node`
 * with no flags, through that very loader, after the function has done its usual first piece
 * of work, so it holds the compiled code of everything that work ran: for issue-credentials and
 * the server, one request issued against a loopback stand-in for STS; for the others, loading.
 */
import { execFile } from "node:child_process";
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
/** What scripts/loader.cjs passes to app.js, which the build wraps in a function of these. */
export const MODULE_WRAPPER_PARAMS = "exports, require, module, __filename, __dirname";
const LOADER = join(import.meta.dirname, "loader.cjs");

/**
 * The child: swaps vm.Script for a subclass that keeps what the loader compiles, loads the
 * function through its own index.js, warms it up, then writes the cache of that script.
 */
const PRODUCER = `
const vm = require("node:vm");
const { rmSync, writeFileSync } = require("node:fs");
const Original = vm.Script;
let script;
vm.Script = class extends Original {
  constructor(...args) {
    super(...args);
    script = this;
  }
};
rmSync("app.cache", { force: true });
const loaded = require(require("node:path").resolve("index.js"));
vm.Script = Original;
const warmUp = eval(process.argv[1] || "async () => {}");
Promise.resolve(warmUp(loaded))
  .then(() => writeFileSync("app.cache", script.createCachedData()))
  .then(() => process.exit(0), (error) => { console.error(String((error && error.stack) || error)); process.exit(1); });
`;

/**
 * One request issued, the way `send` sends it (CommonJS source of an async function of the
 * loaded module and a token, resolving with `{status, body}`): configuration, the JWT check, the
 * grant, the signed AssumeRole over the node transport to a loopback server that answers as
 * STS does, the answer and its log line. The secret and keys are made up here and never leave.
 */
const issueOne = (send: string) => `async (loaded) => {
  const { createServer } = require("node:http");
  const { createHmac, randomBytes } = require("node:crypto");
  const expiredTime = Math.floor(Date.now() / 1000) + 900;
  const answer = JSON.stringify({
    Response: { Credentials: { TmpSecretId: "AKIDwarmup", TmpSecretKey: "warm-up", Token: "warm-up" }, ExpiredTime: expiredTime, Expiration: "", RequestId: "warm-up" },
  });
  const server = createServer((req, res) => req.resume().on("end", () => res.writeHead(200, { "Content-Type": "application/json" }).end(answer)));
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const secret = randomBytes(32).toString("base64url");
  Object.assign(process.env, {
    COS_BUCKET: "warmup-1250000000",
    COS_REGION: "ap-guangzhou",
    JWT_SECRET: secret,
    STS_ENDPOINT: "http://127.0.0.1:" + server.address().port,
    STS_SECRET_ID: "AKIDwarmup",
    STS_SECRET_KEY: randomBytes(24).toString("base64url"),
    STS_ROLE_ARN: "qcs::cam::uin/100000000001:roleName/warm-up",
  });
  const part = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const signed = part({ alg: "HS256", typ: "JWT" }) + "." + part({ sub: "warm-up", exp: expiredTime });
  const token = signed + "." + createHmac("sha256", secret).update(signed).digest("base64url");
  const response = await (${send})(loaded, token);
  server.close();
  if (response.status !== 200) throw new Error("the warm-up request was answered " + response.status + ": " + response.body);
}`;

/** As SCF calls an event function: main_handler with a Function URL event. */
const BY_EVENT = `async (loaded, token) => {
  const event = { httpMethod: "POST", path: "/", headers: { authorization: "Bearer " + token }, body: '{"profile":"upload"}' };
  const answer = await loaded.main_handler(event, { request_id: "warm-up", getRemainingTimeInMillis: () => 10000 });
  return { status: answer.statusCode, body: answer.body };
}`;

/** As a client calls the server: started as `node index.js` starts it, on a loopback port, one POST over HTTP. */
const BY_HTTP = `async (loaded, token) => {
  Object.assign(process.env, { PORT: "0", HOST: "127.0.0.1" });
  const running = await loaded.main();
  const answer = await fetch(running.origin, { method: "POST", headers: { authorization: "Bearer " + token }, body: '{"profile":"upload"}' });
  const result = { status: answer.status, body: await answer.text() };
  await running.close();
  return result;
}`;

/** Per function, what it runs before its cache is written; a function not named here is only loaded. */
export const WARM_UPS: Readonly<Record<string, string>> = { "issue-credentials": issueOne(BY_EVENT), server: issueOne(BY_HTTP) };

/** Puts the loader in `dir` as index.js beside app.js, and writes app.cache (after `warmUp`, CommonJS source of an async function of the loaded module). */
export async function writeCodeCache(dir: string, warmUp: string | undefined): Promise<void> {
  copyFileSync(LOADER, join(dir, "index.js"));
  // No NODE_OPTIONS or other flags: V8 accepts a cache only under the flags it was made with.
  await run(process.execPath, ["-e", PRODUCER, warmUp ?? ""], { cwd: dir, env: {} }).catch((error: { stderr?: string }) => {
    throw new Error(`the code cache for ${dir} could not be made: ${error.stderr ?? error}`);
  });
}
