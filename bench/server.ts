/**
 * `npm run bench`'s rows for the server (dist/server, SCF web functions and containers): its
 * cold start as a platform sees it (spawned, to the first 200 over HTTP, timed by the client)
 * beside an empty node:http server's, and its warm path over one keep-alive connection, timed
 * by a client in a process of its own, beside the same client's against the empty server. Kept apart from run.ts, which only calls it and prints.
 */
import { performance } from "node:perf_hooks";
import { runNode } from "../test/support/bundle.ts";
import { startServerProcess } from "../test/support/server.ts";
import { median, percentile } from "./stats.ts";

export interface ServerBench {
  readonly work: string;
  /** the server's index.js, and the empty server's */
  readonly server: string;
  readonly empty: string;
  /** the broker's variables, NODE_EXTRA_CA_CERTS naming the STS emulator's certificate */
  readonly env: Record<string, string>;
  readonly authorization: string;
  readonly coldRounds: number;
  readonly warmRounds: number;
  readonly count: number;
  /** run.ts's alternation: every variant once a round, in a shuffled order */
  readonly alternate: <T>(rounds: number, variants: readonly string[], run: (variant: string) => Promise<T>) => Promise<Map<string, T[]>>;
}

export interface ServerFigures {
  /** ms from spawn to the first 200, medians */
  readonly coldMs: { readonly server: number; readonly empty: number };
  /** the server's, and the empty server's through the same client */
  readonly warm: { readonly server: WarmFigures; readonly empty: WarmFigures };
}

export interface WarmFigures {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
}

const WARMUP = 20;
const BODY = '{"profile":"upload"}';

/** The client's side of the warm run: one keep-alive agent, `count` POSTs one after another, after a warm-up. */
const CLIENT = `
const http = require("node:http");
const { performance } = require("node:perf_hooks");
const [origin, authorization, countText, warmupText, body] = process.argv.slice(1);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const post = () => new Promise((resolve, reject) => {
  const req = http.request(origin, { method: "POST", agent, headers: { authorization, "content-type": "application/json" } }, (res) => {
    let text = "";
    res.on("data", (chunk) => (text += chunk));
    res.on("end", () => (res.statusCode === 200 ? resolve() : reject(new Error("status " + res.statusCode + ": " + text))));
  });
  req.on("error", reject);
  req.end(body);
});
(async () => {
  for (let i = 0; i < Number(warmupText); i++) await post();
  const latencies = [];
  const started = performance.now();
  for (let i = 0; i < Number(countText); i++) {
    const at = performance.now();
    await post();
    latencies.push(performance.now() - at);
  }
  return { latencies, totalMs: performance.now() - started };
})().then((result) => result, (error) => ({ error: String(error) })).then((message) => process.send(message, () => process.disconnect()));
`;

export async function benchServer(bench: ServerBench): Promise<ServerFigures> {
  const start = (file: string) => startServerProcess({ command: process.execPath, args: [file], cwd: bench.work, env: bench.env }, 30_000);

  const cold = await bench.alternate(bench.coldRounds, ["server", "empty"], async (variant) => {
    const started = performance.now();
    const running = await start(variant === "server" ? bench.server : bench.empty);
    const answer = await fetch(running.origin, { method: "POST", headers: { authorization: bench.authorization }, body: BODY });
    await answer.text();
    const took = performance.now() - started;
    await running.stop();
    if (answer.status !== 200) throw new Error(`the ${variant} answered ${answer.status}`);
    return took;
  });

  const warm = await bench.alternate(bench.warmRounds, ["server", "empty"], async (variant) => {
    const running = await start(variant === "server" ? bench.server : bench.empty);
    try {
      const { message } = await runNode(CLIENT, [running.origin, bench.authorization, String(bench.count), String(WARMUP), BODY], { cwd: bench.work });
      const result = message as { latencies?: number[]; totalMs: number; error?: string };
      if (!result.latencies) throw new Error(`the ${variant}'s warm run failed: ${result.error}`);
      return { latencies: result.latencies, totalMs: result.totalMs };
    } finally {
      await running.stop();
    }
  });
  return {
    coldMs: { server: median(cold.get("server")!), empty: median(cold.get("empty")!) },
    warm: { server: warmFigures(warm.get("server")!), empty: warmFigures(warm.get("empty")!) },
  };
}

function warmFigures(runs: readonly { latencies: number[]; totalMs: number }[]): WarmFigures {
  const latencies = runs.flatMap((run) => run.latencies);
  return { rps: median(runs.map((run) => (run.latencies.length / run.totalMs) * 1000)), p50: median(latencies), p99: percentile(latencies, 99) };
}
