/**
 * Reading the environment: the shared rules every settings parser follows. A refusal names
 * the variable and the fix, and never echoes a secret value.
 */
import { BrokerError } from "./errors.ts";

export type Env = Readonly<Record<string, string | undefined>>;

/** URL.hostname spells IPv6 with brackets. */
const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

export function configError(variable: string, problem: string, fix: string): BrokerError {
  return new BrokerError("ConfigError", `${variable} ${problem}: ${fix}`);
}

/** An empty variable counts as unset (docs/contract.md, Configuration). */
export function readVar(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === "" ? undefined : value;
}

export function parseInteger(variable: string, value: string | undefined, fallback: number, min: number, max: number, why = ""): number {
  if (value === undefined) return fallback;
  const number = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(number) || number < min || number > max) {
    throw configError(variable, `must be a whole number from ${min} to ${max}${why ? ` (${why})` : ""}`, `e.g. ${fallback}`);
  }
  return number;
}

/** A `host[:port]` on the loopback interface: a local emulator, never a cloud service. */
export function isLoopbackHost(host: string): boolean {
  try {
    return LOOPBACK_HOSTS.has(new URL(`http://${host}`).hostname);
  } catch {
    return false;
  }
}

/** Key material and webhooks go over https; plain http only to a loopback server (tests, local dev). */
export function isSecureOrLoopback(url: URL): boolean {
  return url.protocol === "https:" || (url.protocol === "http:" && LOOPBACK_HOSTS.has(url.hostname));
}

export function parseFetchUrl(variable: string, value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw configError(variable, "is not a URL", "give an absolute https:// URL");
  }
  if (!isSecureOrLoopback(url)) {
    throw configError(variable, "must use https", "give an https:// URL (plain http is accepted only on loopback)");
  }
  return url;
}

/** Where a cloud API is: its host, and https unless it is a loopback emulator. */
export interface Endpoint {
  readonly host: string;
  readonly protocol: "https://" | "http://";
}

/**
 * A Tencent Cloud API endpoint as the SDK takes it: a host (`sts.internal.tencentcloudapi.com`)
 * or a URL (`http://127.0.0.1:9100`). STS_ENDPOINT, WECHAT_API_ENDPOINT, the deployer's DEPLOY_API_ENDPOINT.
 */
export function parseEndpoint(variable: string, value: string, example: string): Endpoint {
  if (!value.includes("://")) {
    if (!/^[A-Za-z0-9.-]+(:\d+)?$/.test(value)) throw configError(variable, "is not a host name", `e.g. ${example}`);
    return { host: value, protocol: "https://" };
  }
  const url = parseFetchUrl(variable, value);
  if (url.pathname !== "/" || url.search || url.hash) {
    throw configError(variable, "must not have a path", "give only scheme, host and port");
  }
  return { host: url.host, protocol: url.protocol === "http:" ? "http://" : "https://" };
}

/** A ConfigError that lists every problem found, so one start reports them all, not one per restart. */
export class ConfigProblems extends BrokerError {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super("ConfigError", problems.length === 1 ? (problems[0] ?? "") : `${problems.length} configuration problems: ${problems.join(" | ")}`);
    this.problems = problems;
  }
}

/** What a parse yields when it failed; `settle` proves none did. Private, so no other type matches it. */
class Failed {
  declare private readonly brand: "failed";
}
const FAILED = new Failed();
type Taken<T> = T | Failed;

export interface ProblemCollector {
  /** Runs one parser; a ConfigError is noted (every problem, if it listed several) instead of thrown. */
  take<T>(parse: () => T): Taken<T>;
  /** A taken value, or `fallback` when its parse failed (for parsers that depend on it). */
  valueOr<T, F>(taken: Taken<T>, fallback: F): T | F;
  /** Throws one ConfigProblems naming every problem noted; otherwise the values, none failed. */
  settle<T extends object>(values: T): { [K in keyof T]: Exclude<T[K], Failed> };
}

export function collectProblems(): ProblemCollector {
  const problems: string[] = [];
  return {
    take(parse) {
      try {
        return parse();
      } catch (error) {
        if (!(error instanceof BrokerError) || error.code !== "ConfigError") throw error;
        problems.push(...(error instanceof ConfigProblems ? error.problems : [error.message]));
        return FAILED;
      }
    },
    valueOr: <T, F>(taken: Taken<T>, fallback: F) => (taken instanceof Failed ? fallback : (taken as T)),
    settle(values) {
      if (problems.length > 0) throw new ConfigProblems(problems);
      return values as { [K in keyof typeof values]: Exclude<(typeof values)[K], Failed> };
    },
  };
}
