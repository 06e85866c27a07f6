/**
 * What both SCF entry points share: the invocation context and what they read from it.
 * Context fields: https://cloud.tencent.com/document/product/583/9210 (Node.js handler);
 * see docs/architecture.md for how adapters stay thin.
 */
import { randomUUID } from "node:crypto";

export interface ScfContext {
  readonly request_id?: string;
  readonly function_name?: string;
  getRemainingTimeInMillis?(): number;
}

/** The platform's request id, or a fresh one when the context has none (local runs, tests). */
export function requestIdOf(context: ScfContext | undefined, fallback?: string): string {
  const id = context?.request_id;
  return typeof id === "string" && id ? id : fallback || randomUUID();
}

/** A context that cannot say how much time is left is treated like one that does not say. */
export function remainingTime(context: ScfContext | undefined): number | undefined {
  try {
    const remaining = context?.getRemainingTimeInMillis?.();
    return typeof remaining === "number" && Number.isFinite(remaining) ? remaining : undefined;
  } catch {
    return undefined;
  }
}
