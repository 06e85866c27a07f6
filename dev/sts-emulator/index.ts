// A loopback Tencent Cloud STS (API 2018-08-13) for tests and local runs: verifies real
// TC3 and v1 signatures, issues look-alike temporary credentials, records every call,
// and fails on demand. Dev tooling only; never deployed.
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { systemClock } from "../../lib/shared/clock.ts";
import { listen } from "../listen.ts";
import { FaultPlan } from "./faults.ts";
import { type EmulatorState, handle } from "./handler.ts";
import { generateKey, Registry } from "./registry.ts";
import { selfSignedCert } from "./tls.ts";
import type { StsEmulator, StsEmulatorOptions } from "./types.ts";

export type { PermanentKey, StsEmulator, StsEmulatorOptions } from "./types.ts";

const DEFAULT_TEMPORARY_KEY_TTL_SECONDS = 3600;

export async function startStsEmulator(opts: StsEmulatorOptions = {}): Promise<StsEmulator> {
  const host = opts.host ?? "127.0.0.1";
  const clock = opts.clock ?? systemClock;
  const now = () => clock.now();
  const keys = opts.keys ?? [generateKey()];
  const tls = opts.tls === true ? await selfSignedCert() : opts.tls || undefined;
  const registry = new Registry(keys, opts.onSecret);
  const faults = new FaultPlan();
  const closing = new AbortController();
  const state: EmulatorState = {
    registry,
    faults,
    calls: [],
    now,
    roles: opts.roles && new Set(opts.roles),
    maxPolicyLength: opts.maxPolicyLength ?? 4096,
    closing: closing.signal,
  };

  const listener = (req: IncomingMessage, res: ServerResponse) => void handle(req, res, state);
  const server = tls ? createHttpsServer({ key: tls.key, cert: tls.cert }, listener) : createHttpServer(listener);
  const listening = await listen(server, { host, port: opts.port, tls: Boolean(tls), name: "STS emulator" });

  return {
    url: listening.origin,
    port: listening.port,
    keys,
    caCert: tls && String(tls.cert),
    calls: state.calls,
    issued: registry.issued,
    credentialByToken: (token) => registry.credentialByToken(token),
    addTemporaryKey: ({ ttlSeconds = DEFAULT_TEMPORARY_KEY_TTL_SECONDS } = {}) => registry.addTemporaryKey(Math.floor(now() / 1000) + ttlSeconds),
    inject: (fault, injectOpts) => faults.add(fault, injectOpts),
    clearFaults: () => faults.clear(),
    stsCallCount: (action) => state.calls.filter((call) => call.handled && (!action || call.action === action)).length,
    reset() {
      state.calls.length = 0;
      faults.clear();
    },
    close() {
      closing.abort();
      return listening.close();
    },
  };
}
