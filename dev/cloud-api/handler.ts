// One API request: read, record, fault, authenticate (TC3, the STS emulator's own checks),
// dispatch by API version, answer in the API 3.0 envelope (HTTP 200, Response.Error on failure).
import type { IncomingMessage, ServerResponse } from "node:http";
import { authenticate } from "../sts-emulator/auth.ts";
import { type FaultPlan, faultLabel, playFault } from "../sts-emulator/faults.ts";
import { readBody } from "../sts-emulator/handler.ts";
import type { Registry } from "../sts-emulator/registry.ts";
import { header } from "../sts-emulator/request.ts";
import { parseTc3 } from "../sts-emulator/tc3.ts";
import { newRequestId, sendError, sendResult } from "../sts-emulator/wire.ts";
import { CAM_ACTIONS, type CamState } from "./cam.ts";
import { type Action, checkKnown, type Params, Refusal } from "./params.ts";
import { SCF_ACTIONS, type ScfState } from "./scf.ts";

/** Every request that reached the emulator, refused ones too. */
export interface ApiCall {
  readonly service: string;
  readonly action: string;
  readonly params: Params;
  /** the error code if refused (an injected one included) */
  error?: string;
}

export interface ApiState {
  readonly registry: Registry;
  readonly faults: FaultPlan;
  readonly calls: ApiCall[];
  readonly now: () => number;
  readonly scf: ScfState;
  readonly cam: CamState;
  readonly closing: AbortSignal;
}

/** Each product by its API version; a client signing for a named product must sign for this one. */
const PRODUCTS: Readonly<Record<string, { readonly service: string; readonly actions: ReadonlyMap<string, Action<never>>; readonly state: keyof ApiState }>> = {
  "2018-04-16": { service: "scf", actions: SCF_ACTIONS as ReadonlyMap<string, Action<never>>, state: "scf" },
  "2019-01-16": { service: "cam", actions: CAM_ACTIONS as ReadonlyMap<string, Action<never>>, state: "cam" },
};
/** Bodies carry code zips as base64. */
const MAX_BODY_BYTES = 80 * 1024 * 1024;

export async function handle(req: IncomingMessage, res: ServerResponse, state: ApiState): Promise<void> {
  const requestId = newRequestId();
  const version = header(req, "x-tc-version") ?? "";
  const call: ApiCall = { service: PRODUCTS[version]?.service ?? "?", action: header(req, "x-tc-action") ?? "", params: {} };
  state.calls.push(call);
  try {
    const body = await readBody(req, MAX_BODY_BYTES);
    if (body === undefined) throw new Refusal("RequestSizeLimitExceeded", `The request body exceeds ${MAX_BODY_BYTES} bytes.`);
    const parsed = parseTc3(req, body);
    Object.assign(call, { params: parsed.params });
    const fault = state.faults.take(call.action);
    if (fault && fault.kind !== "delay") {
      call.error = faultLabel(fault);
      return playFault(fault, req, res, requestId);
    }
    const caller = authenticate(parsed, state.registry, state.now());
    const product = PRODUCTS[version];
    if (!product) throw new Refusal("NoSuchVersion", `No product here answers API version \`${version}\` (SCF 2018-04-16, CAM 2019-01-16).`);
    const service = parsed.credential instanceof Refusal ? undefined : parsed.credential.service;
    if (service && Object.values(PRODUCTS).some((other) => other.service === service) && service !== product.service) {
      throw new Refusal("AuthFailure.SignatureFailure", `Signed for ${service}, sent to ${product.service}.`);
    }
    const action = product.actions.get(call.action);
    if (!action) throw new Refusal("InvalidAction", `The action \`${call.action}\` does not exist.`);
    if (parsed.paramsError) throw parsed.paramsError;
    checkKnown(action, parsed.params);
    const context = { region: header(req, "x-tc-region") ?? "", uin: caller.uin, nowMs: state.now() };
    sendResult(res, action.handle(parsed.params, state[product.state] as never, context), requestId);
  } catch (error) {
    if (state.closing.aborted) return;
    const refusal = error instanceof Refusal ? error : new Refusal("InternalError", `Emulator error: ${String(error)}`);
    call.error = refusal.code;
    sendError(res, refusal, requestId);
  }
}
