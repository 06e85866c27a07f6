/**
 * The fields a request may carry, and the refusal of any other: a field the broker ignored
 * (`Key`, `filname`) would hand out the whole prefix to a client that believed it had
 * narrowed its grant (docs/contract.md, The request).
 */
import { BrokerError } from "../shared/errors.ts";

const REQUEST_FIELDS = ["profile", "key", "scope", "filename"] as const;
const KNOWN: ReadonlySet<string> = new Set(REQUEST_FIELDS);
/** Names shown back in a message; anything else is not echoed. */
const SHOWABLE = /^[\w.-]{1,40}$/;
const TOKEN_FIELDS = new Set(["token", "access_token", "jwt", "authorization", "id_token"]);

/** 400 BadRequest naming the first field that is not one of REQUEST_FIELDS. */
export function checkFields(names: readonly string[], where: "the request body" | "the query string"): void {
  const unknown = names.find((name) => !KNOWN.has(name));
  if (unknown === undefined) return;
  const shown = SHOWABLE.test(unknown) ? ` '${unknown}'` : "";
  throw new BrokerError("BadRequest", `unknown field${shown} in ${where}${hintFor(unknown) || "."} The broker reads only profile, key, scope and filename.`);
}

function hintFor(name: string): string {
  const lower = name.toLowerCase();
  if (TOKEN_FIELDS.has(lower)) return "; send the login token only as 'Authorization: Bearer <jwt>'.";
  const near = REQUEST_FIELDS.find((field) => field === lower) ?? REQUEST_FIELDS.find((field) => editDistance(field, lower) <= 2);
  return near ? `; did you mean '${near}'?` : "";
}

/** Levenshtein distance, for typos like `filname`; the names compared are a few characters long. */
function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
