/**
 * `npm run bench`: the deployed bundle's cold start, warm path, own overhead and memory,
 * side by side with the floor (bench/floor.cjs, the least code that does the job), an empty
 * handler and Tencent's demo approach (qcloud-cos-sts from node_modules); and the server's
 * (dist/server: SCF web functions, containers) cold start and warm path over HTTP (bench/server.ts). Every figure comes from fresh child processes, run in alternation, against
 * one loopback STS emulator over TLS (qcloud-cos-sts speaks only https). Prints one table.
 */
import { cpSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { availableParallelism, cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { type StsEmulator, startStsEmulator } from "../dev/sts-emulator/index.ts";
import { bundleSizes } from "../scripts/budgets.ts";
import { bundleFunctions, ROOT } from "../scripts/bundle.ts";
import { exitOnHelp } from "../scripts/help.ts";
import { type Invocation, invokeBundle, runNode } from "../test/support/bundle.ts";
import { bearer, brokerEnv, functionUrlEvent } from "../test/support/harness.ts";
import { hsToken, rsaKey, signWith, startKeyServer } from "../test/support/tokens.ts";
import { LOOP, type LoopResult } from "./loop.ts";
import { quickNote, sized } from "./quick.ts";
import { benchServer } from "./server.ts";
import { mean, median, percentile } from "./stats.ts";
import { benchWechat } from "./wechat.ts";

exitOnHelp(
  "usage: npm run bench\n  Cold start, warm path, overhead and memory of the bundle beside the floor (bench/floor.cjs), an empty handler and Tencent's demo; takes a minute or two.",
);

const COLD_ROUNDS = sized(21, 1);
const WARM_ROUNDS = sized(12, 1);
const WARM_COUNT = sized(300, 20);
const OVERHEAD_ROUNDS = sized(3, 1);
const OVERHEAD_COUNT = sized(2000, 50);
const MEMORY_COUNT = sized(10_000, 50);
/** Long enough for V8's and the TLS stack's one-time growth, so a leak would show as a difference. */
const MEMORY_WARMUP = sized(1000, 20);
/** Against the floor (bench/floor.cjs): cold start and load within 1.15x, warm throughput at least 0.8x, p50 within 1.3x. */
const TARGETS = { coldRatio: 1.15, warmRatio: 0.8, p50Ratio: 1.3, hs256Ms: 0.3, rs256Ms: 1 };

const ms = (value: number, digits = 1) => `${value.toFixed(digits)} ms`;
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
const verdict = (pass: boolean) => (pass ? "PASS" : "MISS");

/**
 * Runs each variant once per round, in an order shuffled anew each round (the same every run
 * of the bench), so neither drift nor a heavy neighbour (the demo, whose STS calls keep this
 * process busy after it exits) falls on one variant more than another. Between runs, this
 * process settles: the emulator's leftover work is not the next child's time.
 */
async function alternate<T>(rounds: number, variants: readonly string[], run: (variant: string) => Promise<T>): Promise<Map<string, T[]>> {
  const results = new Map(variants.map((variant) => [variant, [] as T[]]));
  const random = seededRandom(rounds * 7919 + variants.length);
  for (let round = 0; round < rounds; round++) {
    for (const variant of shuffled(variants, random)) {
      await settle();
      results.get(variant)!.push(await run(variant));
    }
  }
  return results;
}

const SETTLE_MS = 30;
const settle = () => new Promise((resolve) => setTimeout(resolve, SETTLE_MS));

/** mulberry32: a small seeded generator, so a shuffle is the same in every run. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}

function answered(run: Invocation, what: string): Invocation {
  if (run.result?.statusCode !== 200) throw new Error(`${what} did not answer 200: ${run.error ?? run.result?.body}\n${run.stderr}`);
  return run;
}

async function loop(
  file: string,
  event: unknown,
  count: number,
  options: { env: Record<string, string>; cwd: string; mode?: string; warmup?: number },
): Promise<LoopResult> {
  const args = [file, JSON.stringify(event), String(count), String(options.warmup ?? 20), options.mode ?? "main"];
  // The log lines are written as on SCF, but not read back here, where this process also runs the STS emulator.
  const { message, stderr } = await runNode(LOOP, args, { cwd: options.cwd, env: options.env, nodeArgs: ["--expose-gc"], discardStdout: true });
  const result = message as LoopResult;
  if (result.error || !result.latencies) throw new Error(`${file} failed: ${result.error}\n${stderr}`);
  return result;
}

/**
 * A copy of the function whose code cache V8 turns down, as one built by another Node.js would
 * be: the same file with its V8 version hash (bytes 4-7 of the header) changed.
 */
async function rejectedCacheCopy(dir: string, copy: string): Promise<string> {
  cpSync(dir, copy, { recursive: true });
  const cache = readFileSync(join(copy, "app.cache"));
  cache.writeUInt32LE(~cache.readUInt32LE(4) >>> 0, 4);
  writeFileSync(join(copy, "app.cache"), cache);
  const probe = 'process.send(require("./index.js")[Symbol.for("cos-sts-broker.codeCache")], () => process.disconnect())';
  const { message } = await runNode(probe, [], { cwd: copy });
  if (message !== "rejected") throw new Error(`the altered code cache was ${String(message)}, not rejected`);
  return join(copy, "index.js");
}

async function main(): Promise<void> {
  const loadAtStart = loadavg()[0]!;
  const work = await mkdtemp(join(tmpdir(), "broker-bench-"));
  let emulator: StsEmulator | undefined;
  const keyServer = await startKeyServer([]);
  try {
    const meta = await bundleFunctions({ outDir: join(work, "dist") });
    const [size, serverSize] = bundleSizes(meta, ["issue-credentials", "server"]);

    emulator = await startStsEmulator({ tls: true });
    const ca = join(work, "sts-ca.pem");
    writeFileSync(ca, emulator.caCert!);
    const env = brokerEnv(emulator, {
      NODE_EXTRA_CA_CERTS: ca,
      DEMO_STS_HOST: new URL(emulator.url).host,
      // AssumeRole, as the floor calls it; every request goes to STS (no credential reuse), and one user may send them all.
      STS_ROLE_ARN: "qcs::cam::uin/100000000001:roleName/cos-uploader",
      CREDENTIAL_CACHE_MAX_ENTRIES: "0",
      RATE_LIMIT_PER_MINUTE: "60000",
      RATE_LIMIT_BURST: "10000",
    }) as Record<string, string>;
    const event = functionUrlEvent({
      headers: bearer(await hsToken({ sub: "alice" }, { exp: Math.floor(Date.now() / 1000) + 3600 })),
      body: '{"profile":"upload"}',
    });
    const broker = join(work, "dist", "issue-credentials", "index.js");
    const modules: Record<string, string> = {
      empty: join(ROOT, "bench/empty-handler.cjs"),
      floor: join(ROOT, "bench/floor.cjs"),
      broker,
      rejected: await rejectedCacheCopy(join(work, "dist", "issue-credentials"), join(work, "rejected")),
      demo: join(ROOT, "bench/tencent-demo.cjs"),
    };

    // Cold start: process start -> module loaded -> first answer.
    const cold = await alternate(COLD_ROUNDS, Object.keys(modules), async (variant) =>
      answered(await invokeBundle(work, event, { env, module: modules[variant] }), variant),
    );
    const coldFigure = (variant: string, field: "loadedMs" | "readyMs") => median(cold.get(variant)!.map((run) => run[field]!));

    // Warm path, with the STS round trip: one instance serving requests one after another.
    const warmEnv: Record<string, Record<string, string>> = { reuse: { ...env, CREDENTIAL_CACHE_MAX_ENTRIES: "" } };
    const warm = await alternate(WARM_ROUNDS, ["broker", "floor", "demo", "reuse"], (variant) =>
      loop(modules[variant] ?? broker, event, WARM_COUNT, { env: warmEnv[variant] ?? env, cwd: work }),
    );
    const warmFigures = (variant: string) => {
      const runs = warm.get(variant)!;
      const latencies = runs.flatMap((run) => run.latencies);
      return { rps: median(runs.map((run) => (run.latencies.length / run.totalMs) * 1000)), p50: median(latencies), p99: percentile(latencies, 99) };
    };

    // The handler's own work per request, STS answered in memory.
    const rsa = await rsaKey();
    keyServer.keys = [rsa.publicJwk];
    const overheadSetup = {
      HS256: { env, event },
      RS256: {
        env: { ...env, JWT_SECRET: "", JWT_JWKS_URL: keyServer.jwksUrl },
        event: functionUrlEvent({
          headers: bearer(await signWith(rsa, { sub: "alice", exp: Math.floor(Date.now() / 1000) + 3600 })),
          body: '{"profile":"upload"}',
        }),
      },
    };
    const overhead = await alternate(OVERHEAD_ROUNDS, ["HS256", "RS256"], (alg) => {
      const setup = overheadSetup[alg as keyof typeof overheadSetup];
      return loop(broker, setup.event, OVERHEAD_COUNT, { env: setup.env, cwd: work, mode: "in-memory-sts", warmup: 200 });
    });
    const overheadFigures = (alg: string) => {
      const latencies = overhead.get(alg)!.flatMap((run) => run.latencies);
      return { mean: mean(latencies), p50: median(latencies) };
    };

    // Memory of one instance after 10,000 requests through the real STS client.
    const memory = await loop(broker, event, MEMORY_COUNT, { env, cwd: work, warmup: MEMORY_WARMUP });

    const ready = (variant: string) => coldFigure(variant, "readyMs");
    const load = (variant: string) => coldFigure(variant, "loadedMs");
    const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
    const [brokerWarm, floorWarm, demoWarm, reuseWarm] = ["broker", "floor", "demo", "reuse"].map(warmFigures) as [
      ReturnType<typeof warmFigures>,
      ReturnType<typeof warmFigures>,
      ReturnType<typeof warmFigures>,
      ReturnType<typeof warmFigures>,
    ];
    const wechatWarm = await benchWechat({ work, bundle: broker, env, rounds: WARM_ROUNDS, count: WARM_COUNT, loop });
    const server = await benchServer({
      work,
      server: join(work, "dist", "server", "index.js"),
      empty: join(ROOT, "bench/empty-server.cjs"),
      env,
      authorization: (event.headers as Record<string, string>).authorization!,
      coldRounds: COLD_ROUNDS,
      warmRounds: WARM_ROUNDS,
      count: WARM_COUNT,
      alternate,
    });
    const [hs, rs] = [overheadFigures("HS256"), overheadFigures("RS256")];
    const warmLine = (figures: ReturnType<typeof warmFigures>) => `${figures.rps.toFixed(0)} req/s, p50 ${ms(figures.p50, 2)}, p99 ${ms(figures.p99, 2)}`;

    const rows: string[][] = [
      [
        "bundle size, issue-credentials",
        `${kb(size!.bytes)}`,
        `plus its V8 code cache, ${kb(statSync(join(work, "dist", "issue-credentials", "app.cache")).size)}; the server ${kb(serverSize!.bytes)}, its cache ${kb(statSync(join(work, "dist", "server", "app.cache")).size)}`,
        "",
      ],
      [
        `cold start: process start to first answer (median of ${COLD_ROUNDS})`,
        `${ms(ready("broker"))} (${ratio(ready("broker"), ready("floor"))} the floor)`,
        `floor ${ms(ready("floor"))}; empty handler ${ms(ready("empty"))}; qcloud-cos-sts demo ${ms(ready("demo"))}`,
        `<= ${TARGETS.coldRatio}x floor: ${verdict(ready("broker") <= ready("floor") * TARGETS.coldRatio)}`,
      ],
      [
        "cold start, the code cache rejected (built by another Node.js, or other V8 flags)",
        `${ms(ready("rejected"))} (${ratio(ready("rejected"), ready("floor"))} the floor); load ${ms(load("rejected"))} (${ratio(load("rejected"), load("floor"))})`,
        "V8 compiles app.js as require would",
        "",
      ],
      [
        "cold load: process start to handler loaded",
        `${ms(load("broker"))} (${ratio(load("broker"), load("floor"))} the floor)`,
        `floor ${ms(load("floor"))}; empty handler ${ms(load("empty"))}; qcloud-cos-sts demo ${ms(load("demo"))}`,
        `<= ${TARGETS.coldRatio}x floor: ${verdict(load("broker") <= load("floor") * TARGETS.coldRatio)}`,
      ],
      [
        "cold start, where the time goes (medians)",
        `${ms(load("empty"))} Node itself, +${ms(load("broker") - load("empty"))} loading, +${ms(ready("broker") - load("broker"))} first request`,
        `floor: +${ms(load("floor") - load("empty"))} loading, +${ms(ready("floor") - load("floor"))} first request`,
        "",
      ],
      [
        `warm path, credential reuse off: valid HS256 token, AssumeRole over TLS (${WARM_ROUNDS} x ${WARM_COUNT} requests)`,
        warmLine(brokerWarm),
        `floor ${warmLine(floorWarm)}; qcloud-cos-sts getCredential ${warmLine(demoWarm)}`,
        `>= ${TARGETS.warmRatio}x floor req/s: ${verdict(brokerWarm.rps >= floorWarm.rps * TARGETS.warmRatio)} (${ratio(brokerWarm.rps, floorWarm.rps)}); ` +
          `p50 <= ${TARGETS.p50Ratio}x floor: ${verdict(brokerWarm.p50 <= floorWarm.p50 * TARGETS.p50Ratio)} (${ratio(brokerWarm.p50, floorWarm.p50)})`,
      ],
      [
        `warm path: WeChat login, one jscode2session exchange per request, WeChat emulator over TLS (${WARM_ROUNDS} x ${WARM_COUNT} requests)`,
        `${wechatWarm.rps.toFixed(0)} req/s, p50 ${ms(wechatWarm.p50, 2)}, p99 ${ms(wechatWarm.p99, 2)}`,
        `the HS256 token path above: ${brokerWarm.rps.toFixed(0)} req/s`,
        "",
      ],
      [
        `server (web function, container) cold start: spawned to the first 200 over HTTP, timed by the client (median of ${COLD_ROUNDS})`,
        `${ms(server.coldMs.server)} (+${ms(server.coldMs.server - server.coldMs.empty)} over an empty node:http server)`,
        `empty node:http server ${ms(server.coldMs.empty)}; the event handler above, timed inside its process: ${ms(ready("broker"))}`,
        "",
      ],
      [
        `server warm path over one keep-alive HTTP connection, credential reuse off (${WARM_ROUNDS} x ${WARM_COUNT} requests, a client process of its own)`,
        warmLine(server.warm.server),
        `the same client against an empty node:http server: ${warmLine(server.warm.empty)}; the event handler, in process: ${warmLine(brokerWarm)}`,
        "",
      ],
      [
        "warm path, credential reuse on (the default): one user asking again",
        warmLine(reuseWarm),
        "the first answer comes from STS, the rest from the instance's cache",
        "",
      ],
      [
        "handler overhead excl. STS, HS256 (per request)",
        `mean ${ms(hs.mean, 3)}, p50 ${ms(hs.p50, 3)}`,
        `${OVERHEAD_ROUNDS} x ${OVERHEAD_COUNT} requests, STS answered in memory`,
        `mean < ${TARGETS.hs256Ms} ms: ${verdict(hs.mean < TARGETS.hs256Ms)}`,
      ],
      [
        "handler overhead excl. STS, RS256 (per request)",
        `mean ${ms(rs.mean, 3)}, p50 ${ms(rs.p50, 3)}`,
        "JWKS fetched once from a loopback server, then cached",
        `mean < ${TARGETS.rs256Ms} ms: ${verdict(rs.mean < TARGETS.rs256Ms)}`,
      ],
      [
        `peak memory after ${MEMORY_WARMUP.toLocaleString("en")} + ${MEMORY_COUNT.toLocaleString("en")} requests`,
        `max RSS ${mb(memory.maxRss)}`,
        `RSS ${mb(memory.rssAfterWarmup)} after the first ${MEMORY_WARMUP.toLocaleString("en")}; heap after GC ${mb(memory.heapAfterWarmup)} then, ${mb(memory.heapAfterGc)} at the end`,
        "",
      ],
    ];
    for (const line of quickNote()) console.log(line);
    console.log(
      `Machine: ${cpus()[0]?.model ?? "unknown CPU"}, ${availableParallelism()} cores (nproc), Node ${process.version}, load average ${loadAtStart.toFixed(2)} at the start, ${loadavg()[0]!.toFixed(2)} at the end`,
    );
    console.log("");
    console.log("| measure | broker | compared with | target |");
    console.log("|---|---|---|---|");
    for (const row of rows) console.log(`| ${row.join(" | ")} |`);
  } finally {
    await Promise.all([emulator?.close(), keyServer.close()]);
    await rm(work, { recursive: true, force: true });
  }
}

await main();
