/**
 * A CAM policy in plain words, one line per statement: "can PutObject on users/alice/*,
 * objects up to 5 MB per request, image/* only". Describes the policy as sent, not the
 * profile it came from, so what an operator reads is what STS receives.
 */
import { shortAction } from "./actions.ts";
import { shortResource } from "./evaluate.ts";
import type { CamPolicy } from "./policy.ts";

type Value = string | number | boolean | readonly (string | number)[];

const listed = (value: Value) => [value].flat().join(", ");

/** Phrases for the conditions the broker writes; anything else is shown as written. */
const PHRASES: Readonly<Record<string, (value: Value) => string>> = {
  "numeric_less_than_equal cos:content-length": (value) => `objects up to ${formatBytes(Number(value))} per request`,
  "string_like cos:content-type": (value) => `${listed(value)} only`,
  "string_like cos:prefix": (value) => `listing only prefixes ${listed(value)}`,
  "ip_equal qcs:ip": (value) => `from ${listed(value)} only`,
  "bool_equal cos:secure-transport": (value) => (String(value) === "true" ? "over HTTPS only" : "over plain HTTP only"),
};

export function describePolicy(policy: CamPolicy): string[] {
  return policy.statement.map((statement) => {
    const verb = statement.effect === "deny" ? "cannot" : "can";
    const conditions = Object.entries(statement.condition ?? {}).flatMap(([operator, keys]) =>
      Object.entries(keys).map(([key, value]) => PHRASES[`${operator} ${key}`]?.(value) ?? `when ${operator} ${key} ${JSON.stringify(value)}`),
    );
    const what = `${verb} ${statement.action.map(shortAction).join(", ")} on ${statement.resource.map(shortResource).join(", ")}`;
    return [what, ...conditions].join(", ");
  });
}

/** 5242880 -> "5 MB" (binary units, as COS counts); uneven sizes stay in bytes. */
function formatBytes(bytes: number): string {
  for (const [unit, size] of [
    ["GB", 1024 ** 3],
    ["MB", 1024 ** 2],
    ["KB", 1024],
  ] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size} ${unit}`;
  }
  return `${bytes} bytes`;
}
