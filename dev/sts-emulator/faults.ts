// Injected failures of the network or the service, applied before auth so a client
// sees them whatever it sends.
import { type IncomingMessage, type ServerResponse, STATUS_CODES } from "node:http";
import type { Fault } from "./types.ts";
import { StsError, sendError } from "./wire.ts";

interface Armed {
  fault: Fault;
  remaining: number;
  actions?: ReadonlySet<string>;
}

export class FaultPlan {
  private armed: Armed[] = [];

  add(fault: Fault, opts: { times?: number; actions?: string[] } = {}): void {
    const remaining = opts.times ?? Number.POSITIVE_INFINITY;
    if (!(remaining >= 1)) throw new RangeError("inject(): times must be at least 1");
    this.armed.push({ fault, remaining, actions: opts.actions && new Set(opts.actions) });
  }

  clear(): void {
    this.armed = [];
  }

  /** The first armed fault that applies to this action, counting one use of it. */
  take(action: string): Fault | undefined {
    const index = this.armed.findIndex((armed) => !armed.actions || armed.actions.has(action));
    const armed = this.armed[index];
    if (!armed) return undefined;
    armed.remaining -= 1;
    if (armed.remaining <= 0) this.armed.splice(index, 1);
    return armed.fault;
  }
}

/** What a recorded call shows for the fault: the error code a client would read, else `Fault.<kind>`. */
export function faultLabel(fault: Fault): string {
  if (fault.kind === "error") return fault.code;
  if (fault.kind === "throttle") return "RequestLimitExceeded";
  return `Fault.${fault.kind}`;
}

/** Answers (or refuses to answer) as the fault says; `delay` is the caller's to handle. */
export function playFault(fault: Exclude<Fault, { kind: "delay" }>, req: IncomingMessage, res: ServerResponse, requestId: string): void {
  switch (fault.kind) {
    case "error":
      sendError(res, new StsError(fault.code, fault.message ?? `Injected ${fault.code}.`), requestId);
      return;
    case "throttle":
      sendError(res, new StsError("RequestLimitExceeded", "Your current request times exceeds the frequency limit of this action."), requestId);
      return;
    case "http": {
      // What a gateway in front of the service sends: HTML, not the API envelope.
      const reason = STATUS_CODES[fault.status] ?? "Error";
      res.writeHead(fault.status, { "Content-Type": "text/html" });
      return void res.end(`<html><head><title>${fault.status} ${reason}</title></head><body><h1>${reason}</h1></body></html>`);
    }
    case "malformed":
      res.writeHead(200, { "Content-Type": "application/json" });
      return void res.end('{"Response": {"Credentials": {"TmpSecretId": ');
    case "reset":
      // resetAndDestroy sends a TCP RST (ECONNRESET at the client) where the socket allows it.
      try {
        req.socket.resetAndDestroy();
      } catch {
        req.socket.destroy();
      }
      return;
    case "hang":
      return;
  }
}
