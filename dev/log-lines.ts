/**
 * `npm start`'s terminal: one readable line per log line instead of JSON (`--json` keeps the
 * JSON the deployed functions write, lib/shared/log.ts). A request reads
 *   14:02:07  403 refused  POST profile=upload prefix=users/alice/ subject=Xq3v9Tbc  2 ms  ScopeNotAllowed: ...
 */
import type { LogSink } from "../lib/shared/log.ts";

type Fields = Record<string, unknown>;

/** A sink that prints each JSON log line readably. */
export function readableSink(print: (line: string) => void): LogSink {
  return (line) => print(readableLine(line));
}

export function readableLine(json: string): string {
  let fields: Fields;
  try {
    fields = JSON.parse(json) as Fields;
  } catch {
    return json;
  }
  const time = clockTime(fields.time);
  if (fields.event === "request") return `${time}  ${requestLine(fields)}`;
  if (fields.event === "cos_request") return `${time}  ${cosLine(fields)}`;
  const { time: _time, level, event, ...rest } = fields;
  const label = level === "error" ? `ERROR ${event}` : String(event);
  return `${time}  ${label}  ${pairs(rest)}`.trimEnd();
}

/** Status and outcome, then where (key, else prefix), who (the subject hash, shortened), how long, and why if refused. */
function requestLine(entry: Fields): string {
  const where = entry.key ? `key=${entry.key}` : entry.prefix ? `prefix=${entry.prefix}` : undefined;
  const who = typeof entry.subject === "string" ? `subject=${entry.subject.slice(0, 8)}` : undefined;
  const head = `${entry.status} ${String(entry.outcome).padEnd(9)} ${entry.method}`;
  const parts = [head, entry.profile ? `profile=${entry.profile}` : undefined, where, who, entry.cached ? "cached" : undefined].filter(Boolean);
  const reason = entry.code ? `  ${entry.code}: ${entry.message}` : "";
  return `${parts.join(" ")}  ${Math.round(Number(entry.latencyMs))} ms${reason}`;
}

/** The loopback COS server's calls: what the page's SDK did, and why COS refused it. */
function cosLine(call: Fields): string {
  const why = call.code ? `  ${call.code}${call.reason ? `: ${call.reason}` : ""}` : "";
  return `${call.status} COS       ${call.operation ?? call.method} ${call.key ?? ""}`.trimEnd() + why;
}

function pairs(fields: Fields): string {
  return Object.entries(fields)
    .filter(([, value]) => value !== undefined && value !== null)
    .map(([name, value]) => `${name}=${typeof value === "string" ? value : JSON.stringify(value)}`)
    .join(" ");
}

/** The local time of day: the terminal is the developer's. */
function clockTime(time: unknown): string {
  const date = new Date(String(time));
  return Number.isNaN(date.getTime()) ? "--:--:--" : date.toTimeString().slice(0, 8);
}
