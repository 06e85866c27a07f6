/**
 * The deploy's last step: one request to the Function URL with no token. The broker answers a
 * 401 InvalidToken only once it is running with a configuration it accepts; a configuration it
 * refuses makes every request a 500 ConfigError naming the variable (docs/contract.md, Configuration).
 */
import type { Clock } from "../../lib/shared/clock.ts";
import { DeployError } from "./errors.ts";

export interface SmokeOptions {
  readonly fetch: typeof fetch;
  /** A new Function URL can take a few seconds to answer: network errors are retried this often. */
  readonly attempts: number;
  readonly retryMs: number;
  readonly clock: Pick<Clock, "sleep">;
}

export async function smokeTest(url: string, options: SmokeOptions): Promise<string> {
  const response = await reach(url, options);
  const text = await response.text();
  const error = parseError(text);
  if (response.status === 401 && error?.code === "InvalidToken") {
    return `smoke: ${url} answered 401 InvalidToken without a token: the function runs and its configuration loads`;
  }
  if (response.status === 500 && error?.code === "ConfigError") {
    throw new DeployError(`The deployed broker refuses its configuration: ${error.message}\n  Fix that variable (shell or .env) and run npm run deploy again.`);
  }
  const said = error ? `${error.code}: ${error.message}` : text.slice(0, 200);
  throw new DeployError(`smoke: ${url} answered ${response.status} (${said}), not 401 InvalidToken. Look at the function's logs in the SCF console.`);
}

async function reach(url: string, options: SmokeOptions): Promise<Response> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await options.fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: "{}", signal: AbortSignal.timeout(15_000) });
    } catch (error) {
      if (attempt >= options.attempts) throw new DeployError(`smoke: ${url} could not be reached (${(error as Error).message}); try it again in a minute.`);
      await options.clock.sleep(options.retryMs);
    }
  }
}

function parseError(text: string): { code: string; message: string } | undefined {
  try {
    const { error } = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    return typeof error?.code === "string" ? { code: error.code, message: String(error.message ?? "") } : undefined;
  } catch {
    return undefined;
  }
}
