// The Function URLs the emulator hands out: `<origin>/<id>` for each http trigger. For an event
// function, a request becomes the event SCF delivers (`{httpMethod, path, headers, body,
// queryString}`, the caller's address in `x-scf-remote-addr`: functions/issue-credentials/event.ts
// reads the same shape) and is run by the invoker the emulator was given, with the function as
// stored. For a web function, the request itself goes to an instance started from the stored
// zip's scf_bootstrap, with X-Scf-Request-Id added as SCF's proxy does
// (cloud.tencent.com/document/product/583/56124).
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { readBody } from "../sts-emulator/handler.ts";
import type { ScfState, StoredFunction } from "./scf.ts";
import { zipEntries } from "./zip.ts";

/** Runs a stored function for one event, as SCF would; resolves with what its handler returned. */
export type Invoker = (fn: StoredFunction, event: Record<string, unknown>) => Promise<unknown>;

/** Starts (or reuses) an instance of a stored web function from its scf_bootstrap; resolves with where it listens. */
export type WebInstances = (fn: StoredFunction) => Promise<string>;

/** How the emulator runs what was deployed; without one, a Function URL of that kind answers 501. */
export interface Runners {
  readonly invoke?: Invoker;
  readonly serve?: WebInstances;
  /** Told the X-Scf-Request-Id of each request passed to a web function's instance. */
  readonly onWebRequest?: (requestId: string) => void;
}

/** Hop-by-hop headers (RFC 9110 7.6.1) stay on their own connection. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "upgrade", "te", "trailer", "proxy-connection", "host", "content-length"]);

interface HttpResult {
  readonly statusCode?: number;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  readonly isBase64Encoded?: boolean;
}

const MAX_BODY_BYTES = 6 * 1024 * 1024;

export async function answerUrl(req: IncomingMessage, res: ServerResponse, scf: ScfState, runners: Runners): Promise<void> {
  const url = new URL(req.url ?? "/", "http://function-url");
  const [, id = "", ...rest] = url.pathname.split("/");
  const key = scf.urls.get(id);
  const fn = key === undefined ? undefined : scf.functions.get(key);
  if (!fn) return send(res, 404, "no function at this URL");
  const body = await readBody(req, MAX_BODY_BYTES);
  if (fn.type === "HTTP") return forward(req, res, fn, { path: `/${rest.join("/")}${url.search}`, body }, runners);
  const invoke = runners.invoke;
  if (!invoke) return send(res, 501, "this emulator runs event functions only when it is given an invoker");
  const event = {
    httpMethod: req.method ?? "GET",
    path: `/${rest.join("/")}`,
    headers: { ...req.headers, "x-scf-remote-addr": req.socket.remoteAddress ?? "" },
    queryString: Object.fromEntries(url.searchParams),
    ...(body && body.length > 0 ? { body: body.toString("utf8") } : {}),
  };
  try {
    const result = (await invoke(fn, event)) as HttpResult;
    res.writeHead(result.statusCode ?? 200, result.headers ?? {});
    res.end(result.isBase64Encoded ? Buffer.from(result.body ?? "", "base64") : (result.body ?? ""));
  } catch (error) {
    send(res, 502, `the function failed: ${(error as Error).message}`);
  }
}

/** A web function's request, passed through to its instance and back. */
async function forward(
  req: IncomingMessage,
  res: ServerResponse,
  fn: StoredFunction,
  request: { path: string; body?: Buffer },
  runners: Runners,
): Promise<void> {
  const { serve } = runners;
  if (!serve) return send(res, 501, "this emulator runs web functions only when it is given a way to start them");
  // SCF starts an instance by running scf_bootstrap, which must be executable (cloud.tencent.com/document/product/583/56126).
  const bootstrap = zipEntries(fn.code).get("scf_bootstrap");
  if (!bootstrap || !((bootstrap.mode ?? 0) & 0o100))
    return send(res, 502, "the instance cannot start: scf_bootstrap is missing from the code, or not executable");
  const headers = Object.fromEntries(Object.entries(req.headers).filter(([name]) => !HOP_BY_HOP.has(name) && !name.startsWith("x-scf-")));
  const requestId = randomUUID();
  runners.onWebRequest?.(requestId);
  try {
    const answer = await fetch(`${await serve(fn)}${request.path}`, {
      method: req.method,
      headers: { ...(headers as Record<string, string>), "x-scf-request-id": requestId },
      ...(request.body && request.body.length > 0 ? { body: new Uint8Array(request.body) } : {}),
      redirect: "manual",
    });
    res.writeHead(answer.status, Object.fromEntries([...answer.headers].filter(([name]) => !HOP_BY_HOP.has(name))));
    res.end(Buffer.from(await answer.arrayBuffer()));
  } catch (error) {
    send(res, 502, `the instance failed: ${(error as Error).message}`);
  }
}

function send(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { "Content-Type": "text/plain" });
  res.end(message);
}
