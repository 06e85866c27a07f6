// The shape both signature parsers (tc3.ts, v1.ts) read a request into, and the small
// readers they share. Parsing decides nothing: faults and recording need the action first.
import type { IncomingMessage } from "node:http";
import { StsError } from "./wire.ts";

/** What a signature scheme established about the caller, pending a key to check it with. */
export interface SignedCredential {
  secretId: string;
  /** unix seconds the client says it signed at */
  timestamp: number;
  token?: string;
  /** TC3 only: the service of the credential scope, which the client derived from its endpoint */
  service?: string;
  /** throws StsError unless the request was signed with secretKey */
  verify(secretKey: string): void;
}

export interface ParsedRequest {
  signature: "TC3" | "v1" | "none";
  action?: string;
  version?: string;
  params: Record<string, unknown>;
  /** why the parameters could not be read; reported after auth, as the service does */
  paramsError?: StsError;
  /** the claimed credential, or why the request carries none that can be checked */
  credential: SignedCredential | StsError;
}

export function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(", ") : value;
}

export function mediaType(req: IncomingMessage): string {
  return (header(req, "content-type") ?? "").split(";")[0]!.trim().toLowerCase();
}

/** Path and raw query string exactly as sent (the signatures cover them unnormalised). */
export function splitUrl(req: IncomingMessage): { path: string; query: string } {
  const url = req.url ?? "/";
  const mark = url.indexOf("?");
  return mark === -1 ? { path: url, query: "" } : { path: url.slice(0, mark), query: url.slice(mark + 1) };
}

export function parseJsonObject(body: Buffer): Record<string, unknown> | StsError {
  if (body.length === 0) return {};
  try {
    const value: unknown = JSON.parse(body.toString("utf8"));
    if (typeof value === "object" && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // fall through: reported as the same error as a non-object body
  }
  return new StsError("InvalidParameter", "The request body must be a JSON object.");
}

export function missingParameter(name: string): StsError {
  return new StsError("MissingParameter", `The request is missing a required parameter \`${name}\`.`);
}
