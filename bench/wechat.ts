/**
 * `npm run bench`'s WeChat row: the warm path when every request signs in with a fresh
 * wx.login code, so each one exchanges it with the WeChat emulator (over TLS, as WeChat's API
 * is https) before calling STS. Kept apart from run.ts, which only calls it and prints its row.
 */
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startWechatEmulator } from "../dev/wechat-emulator/index.ts";
import { functionUrlEvent } from "../test/support/harness.ts";
import type { LoopResult } from "./loop.ts";
import { median, percentile } from "./stats.ts";

export interface WechatBench {
  readonly work: string;
  /** the issue-credentials bundle (its index.js) */
  readonly bundle: string;
  /** the broker's variables for the STS emulator, NODE_EXTRA_CA_CERTS naming its certificate */
  readonly env: Record<string, string>;
  readonly rounds: number;
  readonly count: number;
  /** run.ts's child loop: `count` requests after `warmup` */
  readonly loop: (file: string, event: unknown, count: number, options: { env: Record<string, string>; cwd: string; warmup: number }) => Promise<LoopResult>;
}

const WARMUP = 20;
const APPID = "wx00000000000be7c4";

/** Median req/s of the rounds, and p50/p99 over all their requests. */
export async function benchWechat(bench: WechatBench): Promise<{ rps: number; p50: number; p99: number }> {
  const secret = randomBytes(16).toString("hex");
  const wechat = await startWechatEmulator({ tls: true, apps: [{ appid: APPID, secret }] });
  try {
    const ca = join(bench.work, "wechat-ca.pem");
    // The child trusts both emulators' certificates.
    const stsCa = bench.env.NODE_EXTRA_CA_CERTS ? readFileSync(bench.env.NODE_EXTRA_CA_CERTS, "utf8") : "";
    writeFileSync(ca, `${stsCa}\n${wechat.caCert}`);
    const event = functionUrlEvent({ headers: { authorization: "WeChat later" }, body: '{"profile":"upload"}' });
    const runs: LoopResult[] = [];
    for (let round = 0; round < bench.rounds; round++) {
      // One user per request, so WeChat's 100 logins per user a minute never bind.
      const codes = Array.from({ length: WARMUP + bench.count }, (_, i) => `WeChat ${wechat.mint(`o_bench_${round}_${i}`)}`);
      const file = join(bench.work, `wechat-codes-${round}.json`);
      writeFileSync(file, JSON.stringify(codes));
      const env = {
        ...bench.env,
        NODE_EXTRA_CA_CERTS: ca,
        WECHAT_APPID: APPID,
        WECHAT_APP_SECRET: secret,
        WECHAT_API_ENDPOINT: wechat.url,
        BENCH_AUTHORIZATIONS: file,
      };
      runs.push(await bench.loop(bench.bundle, event, bench.count, { env, cwd: bench.work, warmup: WARMUP }));
    }
    const latencies = runs.flatMap((run) => run.latencies);
    return { rps: median(runs.map((run) => (run.latencies.length / run.totalMs) * 1000)), p50: median(latencies), p99: percentile(latencies, 99) };
  } finally {
    await wechat.close();
  }
}
