// Reading API 3.0 parameters the way the services refuse them: MissingParameter,
// InvalidParameter(Value), UnknownParameter (common error codes of API 3.0).
import { StsError as Refusal } from "../sts-emulator/wire.ts";

export type Params = Record<string, unknown>;

export interface Action<State> {
  /** Every parameter the action takes (from the SDK's request models); others are refused. */
  readonly params: readonly string[];
  handle(params: Params, state: State, context: ActionContext): Record<string, unknown>;
}

interface ActionContext {
  readonly region: string;
  readonly uin: string;
  readonly nowMs: number;
}

export function checkKnown(action: { readonly params: readonly string[] }, params: Params): void {
  for (const name of Object.keys(params)) {
    if (!action.params.includes(name)) throw new Refusal("UnknownParameter", `The parameter \`${name}\` is not recognized.`);
  }
}

export function text(params: Params, name: string): string {
  const value = params[name];
  if (value === undefined || value === null || value === "") throw new Refusal("MissingParameter", `The request is missing a required parameter \`${name}\`.`);
  if (typeof value !== "string") throw new Refusal("InvalidParameterValue", `${name} must be a string.`);
  return value;
}

export function optionalText(params: Params, name: string): string | undefined {
  return params[name] === undefined ? undefined : text(params, name);
}

export function integer(params: Params, name: string, min: number, max: number): number | undefined {
  const value = params[name];
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || (value as number) < min || (value as number) > max) {
    throw new Refusal("InvalidParameterValue", `${name} must be a whole number from ${min} to ${max}.`);
  }
  return value as number;
}

export { Refusal };
