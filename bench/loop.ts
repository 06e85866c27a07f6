/**
 * The child's side of the warm, overhead and memory runs (CommonJS source for `node -e`):
 * loads one handler module, warms it up, then times `count` sequential invocations, as one
 * SCF instance serves them. With `in-memory-sts`, the bundle's createHandler gets an STS client
 * that answers at once, so what remains is the handler's own work.
 */
export const LOOP = `
const { performance } = require("node:perf_hooks");
const [file, eventJson, countText, warmupText, mode] = process.argv.slice(1);
const loaded = require(file);
const event = JSON.parse(eventJson);
const context = { request_id: "bench", getRemainingTimeInMillis: () => 10000 };
const stsClient = {
  requestCredentials: async () => ({
    tmpSecretId: "AKID" + "x".repeat(32), tmpSecretKey: "k".repeat(40), sessionToken: "t".repeat(200),
    expiredTime: Math.floor(Date.now() / 1000) + 900, expiration: "2026-01-01T00:15:00Z", requestId: "in-memory",
  }),
};
const handler = mode === "in-memory-sts" ? loaded.createHandler({ stsClient }) : loaded.main_handler;
// BENCH_AUTHORIZATIONS: a JSON file of Authorization headers, one per request (WeChat codes are single-use).
const authorizations = process.env.BENCH_AUTHORIZATIONS ? JSON.parse(require("node:fs").readFileSync(process.env.BENCH_AUTHORIZATIONS, "utf8")) : [];
const next = () => (authorizations.length ? { ...event, headers: { ...event.headers, authorization: authorizations.shift() } } : event);
const check = (response) => {
  if (response.statusCode !== 200) throw new Error("status " + response.statusCode + ": " + response.body);
};
(async () => {
  for (let i = 0; i < Number(warmupText); i++) check(await handler(next(), context));
  global.gc?.();
  const { rss: rssAfterWarmup, heapUsed: heapAfterWarmup } = process.memoryUsage();
  const latencies = [];
  const started = performance.now();
  for (let i = 0; i < Number(countText); i++) {
    const request = next();
    const at = performance.now();
    check(await handler(request, context));
    latencies.push(performance.now() - at);
  }
  const totalMs = performance.now() - started;
  global.gc?.();
  return { latencies, totalMs, rssAfterWarmup, heapAfterWarmup, maxRss: process.resourceUsage().maxRSS * 1024, heapAfterGc: process.memoryUsage().heapUsed };
})().then((result) => result, (error) => ({ error: String(error) })).then((message) => process.send(message, () => process.disconnect()));
`;

export interface LoopResult {
  readonly latencies: number[];
  readonly totalMs: number;
  readonly rssAfterWarmup: number;
  /** bytes of heap in use after a full GC, after the warm-up and after the last request */
  readonly heapAfterWarmup: number;
  /** bytes, the process's high-water mark */
  readonly maxRss: number;
  readonly heapAfterGc: number;
  readonly error?: string;
}
