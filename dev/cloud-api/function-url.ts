// The Function URLs the emulator hands out: `<origin>/<id>` for each http trigger. A request
// becomes the event SCF delivers (`{httpMethod, path, headers, body, queryString}`, the caller's
// address in `x-scf-remote-addr`: functions/issue-credentials/event.ts reads the same shape)
// and is run by the invoker the emulator was given, with the function as stored.
import type { IncomingMessage, ServerResponse } from "node:http";
import { readBody } from "../sts-emulator/handler.ts";
import type { ScfState, StoredFunction } from "./scf.ts";

/** Runs a stored function for one event, as SCF would; resolves with what its handler returned. */
export type Invoker = (fn: StoredFunction, event: Record<string, unknown>) => Promise<unknown>;

interface HttpResult {
  readonly statusCode?: number;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  readonly isBase64Encoded?: boolean;
}

const MAX_BODY_BYTES = 6 * 1024 * 1024;

export async function answerUrl(req: IncomingMessage, res: ServerResponse, scf: ScfState, invoke: Invoker | undefined): Promise<void> {
  const url = new URL(req.url ?? "/", "http://function-url");
  const [, id = "", ...rest] = url.pathname.split("/");
  const key = scf.urls.get(id);
  const fn = key === undefined ? undefined : scf.functions.get(key);
  if (!fn) return send(res, 404, "no function at this URL");
  if (!invoke) return send(res, 501, "this emulator runs functions only when it is given an invoker");
  const body = await readBody(req, MAX_BODY_BYTES);
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

function send(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { "Content-Type": "text/plain" });
  res.end(message);
}
