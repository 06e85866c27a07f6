// One request, start to finish: read, record, fault, authenticate, dispatch, answer.
import type { IncomingMessage, ServerResponse } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import type { EpochMs } from "../../lib/shared/clock.ts";
import { ACTIONS, checkKnownParams } from "./actions.ts";
import { authenticate } from "./auth.ts";
import { type FaultPlan, faultLabel, playFault } from "./faults.ts";
import { decodePolicy } from "./policy.ts";
import type { Registry } from "./registry.ts";
import { header, mediaType, missingParameter, type ParsedRequest, parseJsonObject } from "./request.ts";
import { parseTc3 } from "./tc3.ts";
import type { RecordedCall } from "./types.ts";
import { parseV1 } from "./v1.ts";
import { newRequestId, StsError, sendError, sendResult } from "./wire.ts";

const API_VERSION = "2018-08-13";
const MAX_BODY_BYTES = 1024 * 1024;

export interface EmulatorState {
  registry: Registry;
  faults: FaultPlan;
  calls: RecordedCall[];
  now: () => EpochMs;
  roles?: ReadonlySet<string>;
  maxPolicyLength: number;
  /** aborted by close(): ends delays and hangs */
  closing: AbortSignal;
}

export async function handle(req: IncomingMessage, res: ServerResponse, state: EmulatorState): Promise<void> {
  const requestId = newRequestId();
  const call: RecordedCall = {
    action: header(req, "x-tc-action") ?? "",
    params: {},
    signature: "none",
    handled: false,
    at: state.now(),
  };
  state.calls.push(call);
  try {
    await answer(req, res, state, call, requestId);
  } catch (error) {
    // Nothing a client sends may take the emulator down; report it like the service would.
    if (state.closing.aborted) return;
    const refusal = error instanceof StsError ? error : new StsError("InternalError", `Emulator error: ${String(error)}`);
    call.error = refusal.code;
    sendError(res, refusal, requestId);
  }
}

async function answer(req: IncomingMessage, res: ServerResponse, state: EmulatorState, call: RecordedCall, requestId: string): Promise<void> {
  const body = await readBody(req);
  if (body === undefined) {
    res.setHeader("Connection", "close");
    throw new StsError("RequestSizeLimitExceeded", `The request body exceeds ${MAX_BODY_BYTES} bytes.`);
  }
  const parsed = parseRequest(req, body);
  Object.assign(call, describe(parsed));

  const fault = state.faults.take(call.action);
  if (fault?.kind === "delay") await sleep(fault.ms, undefined, { signal: state.closing });
  else if (fault) {
    call.error = faultLabel(fault);
    return playFault(fault, req, res, requestId);
  }

  const result = dispatch(req, parsed, state, call);
  sendResult(res, result, requestId);
}

function parseRequest(req: IncomingMessage, body: Buffer): ParsedRequest {
  if (header(req, "authorization") !== undefined) return parseTc3(req, body);
  if (mediaType(req) === "application/x-www-form-urlencoded") return parseV1(req, body);
  const json = parseJsonObject(body);
  return {
    signature: "none",
    action: header(req, "x-tc-action"),
    version: header(req, "x-tc-version"),
    params: json instanceof StsError ? {} : json,
    credential: new StsError(
      "AuthFailure.InvalidAuthorization",
      "The request carries neither a TC3-HMAC-SHA256 Authorization header nor a v1 form body with Signature.",
    ),
  };
}

/** The recorded view of a request, including its policy decoded when it decodes at all. */
function describe(parsed: ParsedRequest): Partial<RecordedCall> {
  const view: Partial<RecordedCall> = { action: parsed.action ?? "", params: parsed.params, signature: parsed.signature };
  if (!(parsed.credential instanceof StsError)) view.secretId = parsed.credential.secretId;
  const policy = parsed.params.Policy;
  if (typeof policy === "string") {
    try {
      view.policy = decodePolicy(policy);
    } catch {
      // recorded without a policy; the action handler reports why
    }
  }
  return view;
}

function dispatch(req: IncomingMessage, parsed: ParsedRequest, state: EmulatorState, call: RecordedCall): Record<string, unknown> {
  // The service also takes GET; the emulator models the POST form clients use.
  if (req.method !== "POST") throw new StsError("UnsupportedProtocol", "The emulator accepts POST requests only.");
  const caller = authenticate(parsed, state.registry, state.now());
  if (!parsed.action) throw missingParameter(parsed.signature === "v1" ? "Action" : "X-TC-Action");
  if (!parsed.version) throw missingParameter(parsed.signature === "v1" ? "Version" : "X-TC-Version");
  if (parsed.version !== API_VERSION) {
    throw new StsError("NoSuchVersion", `The API version \`${parsed.version}\` does not exist; STS is ${API_VERSION}.`);
  }
  const action = ACTIONS.get(parsed.action);
  if (!action) throw new StsError("InvalidAction", `The action \`${parsed.action}\` does not exist.`);
  if (parsed.paramsError) throw parsed.paramsError;
  call.handled = true;
  checkKnownParams(action, parsed.params);
  return action.handle(parsed.params, {
    caller,
    registry: state.registry,
    nowMs: state.now(),
    roles: state.roles,
    maxPolicyLength: state.maxPolicyLength,
    form: parsed.signature === "v1",
  });
}

/** The body, or undefined once it passes the cap (the rest is read and dropped). */
export function readBody(req: IncomingMessage, maxBytes = MAX_BODY_BYTES): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    if (Number(header(req, "content-length")) > maxBytes) {
      req.resume();
      return resolve(undefined);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      if (size > maxBytes) return;
      size += chunk.length;
      if (size > maxBytes) resolve(undefined);
      else chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}
