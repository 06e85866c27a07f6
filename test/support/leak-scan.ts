/**
 * Finds secrets in captured log output: every value in the ledger (secret keys, session
 * tokens, JWT secrets, minted JWTs) and anything shaped like a JWT, ledgered or not.
 * Findings name the file, the line and the kind, never the secret itself.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export interface LedgerEntry {
  readonly kind: string;
  readonly value: string;
}

export interface Finding {
  readonly file: string;
  readonly line: number;
  readonly kind: string;
  /** The first characters and the length: enough to look it up, too little to use. */
  readonly hint: string;
}

/** Shorter values would match by accident; every real secret here is longer. */
const MIN_SECRET_LENGTH = 16;
/** A compact JWS/JWT: base64url JSON header ("eyJ" = '{"'), payload, signature (possibly empty). */
const JWT_SHAPE = /eyJ[\w-]{5,}\.[\w-]{2,}\.[\w-]*/g;

export function scanText(file: string, text: string, ledger: readonly LedgerEntry[]): Finding[] {
  const findings: Finding[] = [];
  const lineAt = (index: number) => text.slice(0, index).split("\n").length;
  const found = (index: number, kind: string, value: string) =>
    findings.push({ file, line: lineAt(index), kind, hint: `${value.slice(0, 4)}… (${value.length} chars)` });

  const seen = new Set<string>();
  const reported = new Set<number>();
  for (const { kind, value } of ledger) {
    if (value.length < MIN_SECRET_LENGTH || seen.has(value)) continue;
    seen.add(value);
    for (let at = text.indexOf(value); at !== -1; at = text.indexOf(value, at + 1)) {
      found(at, kind, value);
      reported.add(at);
    }
  }
  for (const match of text.matchAll(JWT_SHAPE)) {
    if (!reported.has(match.index)) found(match.index, "jwt-shaped", match[0]);
  }
  return findings;
}

/** Scans every captured file in `dir` against every ledger in it. */
export function scanCapture(dir: string): Finding[] {
  const files = readdirSync(dir);
  const ledger = files
    .filter((name) => name.startsWith("ledger-"))
    .flatMap((name) => readFileSync(join(dir, name), "utf8").split("\n").filter(Boolean))
    .map((line) => JSON.parse(line) as LedgerEntry);
  return files.filter((name) => name.endsWith(".log")).flatMap((name) => scanText(name, readFileSync(join(dir, name), "utf8"), ledger));
}

export function describeFindings(findings: readonly Finding[]): string {
  return findings.map((f) => `  ${f.file}:${f.line}: ${f.kind} ${f.hint}`).join("\n");
}
