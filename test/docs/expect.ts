/**
 * Does a command's output match the output block a doc shows? Exact, except where the doc
 * writes `...`: in text, `...` stands for any characters within a line, and a line of only
 * `...` for any number of lines; in JSON, a string with `...` matches any string that fills
 * it in, a trailing "..." item lets an array go on, and a number matches any number and an
 * ISO 8601 time any such time (the forms the broker's responses carry times in). Objects must
 * have exactly the keys shown.
 */

const ELLIPSIS = "...";
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/** Undefined when `actual` matches what the doc shows, else what differs first. */
export function outputMismatch(format: "json" | "text", expected: string, actual: string): string | undefined {
  if (format === "text") return textMismatch(expected, actual);
  let parsed: unknown;
  try {
    parsed = JSON.parse(actual);
  } catch {
    return `the output is not JSON:\n${actual}`;
  }
  return jsonMismatch(JSON.parse(expected), parsed, "$");
}

const lines = (text: string) =>
  text
    .replace(/\s+$/, "")
    .split("\n")
    .map((line) => line.trimEnd());

function textMismatch(expected: string, actual: string): string | undefined {
  const want = lines(expected);
  const got = lines(actual);
  if (linesMatch(want, 0, got, 0)) return undefined;
  const at = want.findIndex((line, i) => line !== ELLIPSIS && !lineMatches(line, got[i] ?? ""));
  const shown = at === -1 ? "" : `\nfirst differing line ${at + 1}: expected ${JSON.stringify(want[at])}, got ${JSON.stringify(got[at] ?? "(no line)")}`;
  return `the output does not match the doc${shown}\n--- output ---\n${got.join("\n")}`;
}

function linesMatch(want: readonly string[], i: number, got: readonly string[], j: number): boolean {
  if (i === want.length) return j === got.length;
  if (want[i] === ELLIPSIS) {
    for (let skip = j; skip <= got.length; skip++) if (linesMatch(want, i + 1, got, skip)) return true;
    return false;
  }
  return j < got.length && lineMatches(want[i]!, got[j]!) && linesMatch(want, i + 1, got, j + 1);
}

function lineMatches(pattern: string, line: string): boolean {
  const parts = pattern.split(ELLIPSIS).map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(`^${parts.join(".*")}$`).test(line);
}

function jsonMismatch(expected: unknown, actual: unknown, path: string): string | undefined {
  const differs = `${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`;
  if (typeof expected === "string") {
    if (typeof actual !== "string") return differs;
    return (ISO_TIME.test(expected) ? ISO_TIME.test(actual) : lineMatches(expected, actual)) ? undefined : differs;
  }
  if (typeof expected === "number") return typeof actual === "number" ? undefined : differs;
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return differs;
    const open = expected.at(-1) === ELLIPSIS;
    const shown = open ? expected.slice(0, -1) : expected;
    if (open ? actual.length < shown.length : actual.length !== shown.length)
      return `${path}: expected ${shown.length}${open ? " or more" : ""} items, got ${actual.length}`;
    return firstOf(shown.map((item, i) => () => jsonMismatch(item, actual[i], `${path}[${i}]`)));
  }
  if (typeof expected === "object" && expected !== null) {
    if (typeof actual !== "object" || actual === null || Array.isArray(actual)) return differs;
    const keys = (value: object) => Object.keys(value).sort().join(", ");
    if (keys(expected) !== keys(actual)) return `${path}: expected the keys ${keys(expected)}, got ${keys(actual)}`;
    return firstOf(
      Object.entries(expected).map(
        ([key, value]) =>
          () =>
            jsonMismatch(value, (actual as Record<string, unknown>)[key], `${path}.${key}`),
      ),
    );
  }
  return expected === actual ? undefined : differs;
}

function firstOf(checks: readonly (() => string | undefined)[]): string | undefined {
  for (const check of checks) {
    const found = check();
    if (found) return found;
  }
  return undefined;
}
