/**
 * The suite-wide leak check is itself checked: the scanner finds what it must and reports it
 * without repeating it, the teardown fails on a finding, and this worker's capture is wired
 * (harness log lines, stdout and the ledger all land in the run's capture directory).
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, inject, it } from "vitest";
import { bearer, context, functionUrlEvent, parse, startHarness } from "./harness.ts";
import { checkCapture } from "./leak-check.ts";
import { type LedgerEntry, scanCapture, scanText } from "./leak-scan.ts";
import { hsToken } from "./tokens.ts";

// Built at run time, never printed: a JWT-shaped string and a secret nobody ledgered as such.
const fakeJwt = ["eyJhbGciOiJIUzI1NiJ9", "eyJzdWIiOiJsZWFrIn0", "c2lnbmF0dXJlLXNpZ25hdHVyZQ"].join(".");
const secret = `tmp-secret-${"k".repeat(24)}`;
const ledger: LedgerEntry[] = [{ kind: "tmpSecretKey", value: secret }];

describe("scanText", () => {
  it("finds a ledgered secret, with file and line, and says only a hint of it", () => {
    const findings = scanText("logger-1.log", `{"ok":true}\n{"detail":"x ${secret} y"}\n`, ledger);
    expect(findings).toEqual([{ file: "logger-1.log", line: 2, kind: "tmpSecretKey", hint: "tmp-… (35 chars)" }]);
    expect(JSON.stringify(findings)).not.toContain(secret);
  });

  it("finds a JWT-shaped string that nobody ledgered, raw or inside JSON", () => {
    expect(scanText("stdout-1.log", `Authorization: Bearer ${fakeJwt}\n`, []).map((f) => f.kind)).toEqual(["jwt-shaped"]);
    expect(scanText("stdout-1.log", JSON.stringify({ header: `Bearer ${fakeJwt}` }), []).map((f) => f.kind)).toEqual(["jwt-shaped"]);
  });

  it("reports a ledgered JWT once, under its ledger kind", () => {
    expect(scanText("a.log", `x ${fakeJwt}`, [{ kind: "jwt", value: fakeJwt }]).map((f) => f.kind)).toEqual(["jwt"]);
  });

  it("passes clean output, and ignores ledger values too short to match reliably", () => {
    const clean = '{"event":"request","subject":"ElXayqY39wy2BnY9MDXH72tS6ymDxc2Qb3FMOBjQ36o","stsRequestId":"50485d11"}\n';
    expect(scanText("a.log", clean, [...ledger, { kind: "secretKey", value: "k" }])).toEqual([]);
  });
});

describe("checkCapture", () => {
  it("fails on a capture directory with a leak, without printing the secret, and passes a clean one", () => {
    const dir = mkdtempSync(join(tmpdir(), "leak-scan-test-"));
    writeFileSync(join(dir, "ledger-1.jsonl"), `${JSON.stringify(ledger[0])}\n`);
    writeFileSync(join(dir, "logger-1.log"), '{"event":"request"}\n');
    expect(() => checkCapture(dir)).not.toThrow();
    writeFileSync(join(dir, "child-2.log"), `{"event":"request","message":"${secret}"}\n`);
    expect(scanCapture(dir)).toHaveLength(1);
    let message = "";
    try {
      checkCapture(dir);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain("child-2.log:1: tmpSecretKey");
    expect(message).not.toContain(secret);
  });
});

describe("this run's capture", () => {
  it("holds the harness's log lines, stdout, and the ledger of minted tokens and issued secrets", async () => {
    const dir = inject("captureDir");
    expect(dir).toBeTruthy();
    const h = await startHarness();
    try {
      const token = await hsToken({ sub: "capture-check" });
      const body = parse(await h.handler(functionUrlEvent({ headers: bearer(token) }), context()));
      process.stdout.write("leak-scan.test: a harmless line on stdout\n");
      const read = (prefix: string) => readFileSync(join(dir, `${prefix}-${process.pid}.${prefix === "ledger" ? "jsonl" : "log"}`), "utf8");
      expect(read("logger")).toContain(`"stsRequestId":"${body.requestId}"`);
      expect(read("stdout")).toContain("a harmless line on stdout");
      const values = new Set(
        read("ledger")
          .split("\n")
          .filter(Boolean)
          .map((line) => (JSON.parse(line) as LedgerEntry).value),
      );
      for (const value of [token, body.credentials.tmpSecretKey, body.credentials.sessionToken, h.env.STS_SECRET_KEY, h.env.JWT_SECRET]) {
        expect(values.has(value!)).toBe(true);
      }
      expect(readdirSync(dir).length).toBeGreaterThan(0);
    } finally {
      await h.close();
    }
  });
});
