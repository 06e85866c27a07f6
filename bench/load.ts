/**
 * Load benchmark (not a test): 2,000 concurrent requests through the local HTTP server
 * (dev/local-server.ts, the same handler SCF runs) against the loopback STS emulator, three
 * rounds, default configuration. Prints per round: statuses (intended refusals apart),
 * errors, p50/p99 latency, STS calls and cache hits (from the log lines, one per request),
 * and this process's memory after a full GC (want flat across rounds). The emulator runs in
 * a child process so its own growing records are not counted as the broker's memory.
 *
 *   npm run bench:load            (runs node with --expose-gc)
 *
 * Each round: 470 users x 4 requests (three identical, served from cache after the first
 * round, and one narrowed to a new key, so STS is called), 50 forged tokens (401, intended)
 * and one user sending 70 at once (429 past the burst of 20, intended).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { Agent, request } from "node:http";
import { availableParallelism, cpus } from "node:os";
import { performance } from "node:perf_hooks";
import { mintToken } from "../dev/defaults.ts";
import { startLocalServer } from "../dev/local-server.ts";
import { createLogger } from "../lib/shared/log.ts";
import { exitOnHelp } from "../scripts/help.ts";
import { quickNote, sized } from "./quick.ts";

exitOnHelp(
  "usage: npm run bench:load\n  2,000 concurrent requests through the local server against the STS emulator, three rounds; prints latency, STS calls and memory.",
);

const ROUNDS = sized(3, 1);
const USERS = sized(470, 20);
const FORGED = sized(50, 5);
const GREEDY = 70;
const SECRET = "bench-secret-that-is-long-enough-for-hs256-000";

interface Call {
  readonly token: string;
  readonly body: string;
  /** Statuses this request may get by design. */
  readonly intended: readonly number[];
}

interface Result {
  readonly status: number | "error";
  readonly ms: number;
  readonly intended: readonly number[];
}

const gc = (globalThis as { gc?: () => void }).gc;

interface LogCounts {
  lines: number;
  stsCalls: number;
  cacheHits: number;
}

async function main(): Promise<void> {
  const emulator = await startEmulatorProcess();
  const log: LogCounts = { lines: 0, stsCalls: 0, cacheHits: 0 };
  const server = await startLocalServer({
    env: {
      COS_BUCKET: "examplebucket-1250000000",
      COS_REGION: "ap-guangzhou",
      JWT_SECRET: SECRET,
      STS_ENDPOINT: emulator.url,
      STS_SECRET_ID: emulator.secretId,
      STS_SECRET_KEY: emulator.secretKey,
    },
    // Counted, not printed: 6,000 lines would bury the figures.
    logger: createLogger((line) => count(log, line)),
  });
  if (!server.app.ok) throw new Error(server.app.error.message);
  const agent = new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });
  const users = await Promise.all(Array.from({ length: USERS }, (_, i) => mintToken({ sub: `user-${i}`, secret: SECRET })));
  const greedy = await mintToken({ sub: "greedy", secret: SECRET });
  const forged = await mintToken({ sub: "mallory", secret: "not-the-secret-but-just-as-long-as-it-000" });

  for (const line of quickNote()) console.log(line);
  console.log(
    `machine: ${availableParallelism()} CPUs (${cpus()[0]?.model ?? "unknown"}), Node ${process.version}; ${gc ? "GC exposed" : "run with --expose-gc for memory after GC"}`,
  );
  console.log(`round  requests  wall ms  req/s  statuses                   errors  p50 ms  p99 ms  STS calls  cache hits  log lines  RSS MB  heap MB`);
  console.log(`start${" ".repeat(113)}${memoryAfterGc()}`);
  for (let round = 1; round <= ROUNDS; round += 1) {
    const calls: Call[] = [
      ...users.flatMap((token, i) => [
        { token, body: '{"profile":"upload"}', intended: [200] },
        { token, body: '{"profile":"upload"}', intended: [200] },
        { token, body: '{"profile":"upload"}', intended: [200] },
        { token, body: JSON.stringify({ key: `r${round}/photo-${i}.jpg` }), intended: [200] },
      ]),
      ...Array.from({ length: FORGED }, () => ({ token: forged, body: "", intended: [401] })),
      ...Array.from({ length: GREEDY }, () => ({ token: greedy, body: '{"profile":"upload"}', intended: [200, 429] })),
    ];
    const before = { ...log };
    const started = performance.now();
    const results = await Promise.all(calls.map((call) => send(server.url, agent, call)));
    const wall = performance.now() - started;
    report(round, results, wall, { lines: log.lines - before.lines, stsCalls: log.stsCalls - before.stsCalls, cacheHits: log.cacheHits - before.cacheHits });
  }
  agent.destroy();
  await server.close();
  emulator.process.kill("SIGTERM");
}

/** One line per request (lib/shared/log.ts): an issued line says whether STS was called. */
function count(log: LogCounts, line: string): void {
  const entry = JSON.parse(line) as { event?: string; outcome?: string; cached?: boolean };
  if (entry.event !== "request") return;
  log.lines += 1;
  if (entry.outcome === "issued") {
    if (entry.cached) log.cacheHits += 1;
    else log.stsCalls += 1;
  }
}

async function startEmulatorProcess(): Promise<{ url: string; secretId: string; secretKey: string; process: ChildProcess }> {
  const child = spawn(process.execPath, ["--import", "tsx", "dev/sts-emulator/cli.ts", "--print-secret"], { stdio: ["ignore", "pipe", "inherit"] });
  let output = "";
  for await (const chunk of child.stdout!) {
    output += String(chunk);
    const url = /listening on (\S+)/.exec(output)?.[1];
    const secretId = /secretId: (\S+)/.exec(output)?.[1];
    const secretKey = /secretKey: (\S+)/.exec(output)?.[1];
    if (url && secretId && secretKey) return { url, secretId, secretKey, process: child };
  }
  throw new Error(`the STS emulator did not start:\n${output}`);
}

function send(url: string, agent: Agent, call: Call): Promise<Result> {
  const started = performance.now();
  return new Promise((resolve) => {
    const req = request(`${url}/`, { method: "POST", agent, headers: { authorization: `Bearer ${call.token}`, "content-type": "application/json" } }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started, intended: call.intended }));
    });
    req.on("error", () => resolve({ status: "error", ms: performance.now() - started, intended: call.intended }));
    req.end(call.body);
  });
}

function report(round: number, results: readonly Result[], wall: number, log: LogCounts): void {
  const counts = new Map<string, number>();
  for (const { status } of results) counts.set(String(status), (counts.get(String(status)) ?? 0) + 1);
  const errors = results.filter((result) => result.status === "error" || !result.intended.includes(result.status)).length;
  const ms = results.map((result) => result.ms).sort((a, b) => a - b);
  const quantile = (q: number) => ms[Math.min(ms.length - 1, Math.floor(q * ms.length))]!;
  const statuses = [...counts]
    .sort()
    .map(([status, count]) => `${status}:${count}`)
    .join(" ");
  const memory = memoryAfterGc();
  console.log(
    [
      String(round).padEnd(5),
      String(results.length).padStart(8),
      wall.toFixed(0).padStart(8),
      ((results.length / wall) * 1000).toFixed(0).padStart(6),
      statuses.padEnd(26),
      String(errors).padStart(6),
      quantile(0.5).toFixed(1).padStart(7),
      quantile(0.99).toFixed(1).padStart(7),
      String(log.stsCalls).padStart(10),
      String(log.cacheHits).padStart(11),
      String(log.lines).padStart(10),
      memory,
    ].join("  "),
  );
}

function memoryAfterGc(): string {
  gc?.();
  const { rss, heapUsed } = process.memoryUsage();
  return `${(rss / 2 ** 20).toFixed(1).padStart(6)}  ${(heapUsed / 2 ** 20).toFixed(1).padStart(7)}`;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
