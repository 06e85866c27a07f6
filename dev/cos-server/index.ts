// A loopback Tencent COS for tests and `npm start`: answers cos-nodejs-sdk-v5 and
// cos-js-sdk-v5 as they send requests (path- or virtual-host style), verifies real request
// signatures against the STS emulator's credentials, enforces their session policies with the
// broker's evaluator, and keeps objects in memory. Dev tooling only; never deployed.
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { type Clock, systemClock } from "../../lib/shared/clock.ts";
import { listen } from "../listen.ts";
import { selfSignedCert } from "../sts-emulator/tls.ts";
import { BucketCors } from "./cors.ts";
import type { CredentialLookup } from "./credentials.ts";
import { type CosCall, handle, type ServerState } from "./handler.ts";
import { Storage } from "./storage.ts";

export { credentialsFrom } from "./credentials.ts";

export interface CosServerOptions {
  /** who may sign requests: usually credentialsFrom(stsEmulator) */
  readonly credentials: CredentialLookup;
  readonly region: string;
  /** buckets with their appid suffix, e.g. examplebucket-1250000000 */
  readonly buckets: readonly string[];
  /** page origins the buckets' CORS rule allows */
  readonly corsOrigins?: readonly string[];
  /** default 127.0.0.1 */
  readonly host?: string;
  /** default 0 (any free port) */
  readonly port?: number;
  /** true: a self-signed certificate for 127.0.0.1/localhost, so cos:secure-transport is true */
  readonly tls?: boolean;
  /** default the system clock; tests move it to expire credentials without sleeping */
  readonly clock?: Pick<Clock, "now">;
  /** largest request body, default 64 MiB */
  readonly maxBodyBytes?: number;
  /** told about each request once it is answered (npm start logs them) */
  readonly onCall?: (call: CosCall) => void;
}

export interface CosServer {
  readonly url: string;
  readonly port: number;
  /** PEM of the serving certificate when TLS is on */
  readonly caCert?: string;
  readonly storage: Storage;
  readonly calls: CosCall[];
  /** adds a page origin to the buckets' starting CORS rule */
  allowOrigin(origin: string): void;
  /** each bucket's CORS rules, as GET/PUT Bucket cors see them */
  readonly cors: BucketCors;
  close(): Promise<void>;
}

const DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024;

export async function startCosServer(options: CosServerOptions): Promise<CosServer> {
  const clock = options.clock ?? systemClock;
  const now = () => clock.now();
  const host = options.host ?? "127.0.0.1";
  const tls = options.tls ? await selfSignedCert() : undefined;
  const cors = new BucketCors(options.buckets, options.corsOrigins);
  const state: ServerState = {
    region: options.region,
    storage: new Storage(options.buckets, now),
    cors,
    credentials: options.credentials,
    now,
    calls: [],
    maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    onCall: options.onCall,
  };
  const listener = (req: IncomingMessage, res: ServerResponse) => void handle(req, res, state);
  const server = tls ? createHttpsServer({ key: tls.key, cert: tls.cert }, listener) : createHttpServer(listener);
  const listening = await listen(server, { host, port: options.port, tls: Boolean(tls), name: "COS server" });
  return {
    url: listening.origin,
    port: listening.port,
    caCert: tls?.cert,
    storage: state.storage,
    calls: state.calls,
    allowOrigin: (origin) => cors.allow(origin),
    cors,
    close: listening.close,
  };
}
