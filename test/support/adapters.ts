/**
 * Every adapter the broker runs behind, driven the same way for the contract suite
 * (test/e2e/contract.test.ts): a request in plain terms goes in through the adapter's own door
 * (an SCF Function URL event, real HTTP to the server, a Fetch API Request), and its answer
 * comes back in plain terms, header names lower-cased. Each runs in this process, with its log
 * captured and a clock that skips the waits between STS attempts.
 */
import { createFetchHandler } from "../../functions/fetch/index.ts";
import { createHandler } from "../../functions/issue-credentials/index.ts";
import { startServer } from "../../functions/server/index.ts";
import { loadServerSettings } from "../../functions/server/settings.ts";
import type { Env } from "../../lib/shared/env.ts";
import { skippingClock } from "./clock.ts";
import { context, functionUrlEvent, testLogger } from "./harness.ts";

export interface Exchange {
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  /** GET's parameters. */
  readonly query?: Readonly<Record<string, string>>;
}

export interface Answer {
  readonly status: number;
  /** Names lower-cased. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface RunningAdapter {
  send(exchange?: Exchange): Promise<Answer>;
  /** The broker's log lines, one JSON object per line. */
  readonly logLines: readonly string[];
  close(): Promise<void>;
}

export interface AdapterUnderTest {
  readonly name: string;
  start(env: Env): Promise<RunningAdapter>;
}

const lowerCased = (headers: Readonly<Record<string, string>>) =>
  Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));

/** functions/issue-credentials: the SCF event handler, handed Function URL events. */
const scfEvent: AdapterUnderTest = {
  name: "the SCF event handler",
  async start(env) {
    const logLines: string[] = [];
    const handler = createHandler({ env, logger: testLogger((line) => logLines.push(line)), clock: skippingClock() });
    return {
      logLines,
      async send({ method = "POST", headers = {}, body, query } = {}) {
        const answer = await handler(functionUrlEvent({ method, headers: { ...headers }, body, query: query && { ...query } }), context());
        return { status: answer.statusCode, headers: lowerCased(answer.headers), body: answer.body };
      },
      close: async () => undefined,
    };
  },
};

/** A Request to the broker's root, as a client would send it. */
function requestTo(origin: string, { method = "POST", headers = {}, body, query }: Exchange = {}): Request {
  const url = new URL("/", origin);
  for (const [name, value] of Object.entries(query ?? {})) url.searchParams.set(name, value);
  return new Request(url, { method, headers, ...(body === undefined ? {} : { body }) });
}

async function answerOf(response: Response): Promise<Answer> {
  return { status: response.status, headers: Object.fromEntries(response.headers), body: await response.text() };
}

/** functions/server: the node:http server on a loopback port, over real HTTP. */
const server: AdapterUnderTest = {
  name: "the server",
  async start(env) {
    const logLines: string[] = [];
    const settings = { ...loadServerSettings({}), host: "127.0.0.1", port: 0 };
    const running = await startServer({ env, settings, logger: testLogger((line) => logLines.push(line)), clock: skippingClock() });
    return {
      logLines,
      send: async (exchange) => answerOf(await fetch(requestTo(running.origin, exchange))),
      close: running.close,
    };
  },
};

/** functions/fetch: the Fetch API handler, handed Requests with what Deno passes beside them; STS over Node's global fetch. */
const fetchHandler: AdapterUnderTest = {
  name: "the Fetch handler",
  async start(env) {
    const logLines: string[] = [];
    const handler = createFetchHandler({ env, logger: testLogger((line) => logLines.push(line)), clock: skippingClock() });
    const denoInfo = { remoteAddr: { transport: "tcp", hostname: "203.0.113.9", port: 50_000 } };
    return {
      logLines,
      send: async (exchange) => answerOf(await handler.fetch(requestTo("http://broker.test", exchange), denoInfo)),
      close: async () => undefined,
    };
  },
};

export const ADAPTERS: readonly AdapterUnderTest[] = [scfEvent, server, fetchHandler];
