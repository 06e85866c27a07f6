/**
 * Fuzzing the SCF entry point with fast-check: any trigger event (random methods, header
 * names in any case, bodies of any kind and size up to the platform's 6 MB, base64 flags
 * that lie, non-object events) and any context (a clock that throws). The handler always
 * answers a well-formed response, never throws, never fails unexpectedly (500), logs exactly
 * one line, calls STS only to issue, and never answers 200 without a valid token.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ScfHttpResponse } from "../../functions/issue-credentials/event.ts";
import { main_handler } from "../../functions/issue-credentials/index.ts";
import type { ScfContext } from "../../functions/scf.ts";
import { type Harness, startHarness } from "../support/harness.ts";
import { hsToken, rawToken } from "../support/tokens.ts";

/** SCF's synchronous event limit (SCF quota limits, https://cloud.tencent.com/document/product/583/11637). */
const PLATFORM_MAX_BYTES = 6 * 1024 * 1024;
const SUBJECTS = ["fuzz-a", "fuzz-b"];
const valid: Record<string, string> = {};
let forged: string[] = [];

beforeAll(async () => {
  for (const sub of SUBJECTS) valid[sub] = await hsToken({ sub });
  const now = Math.floor(Date.now() / 1000);
  forged = [
    await hsToken({ sub: "fuzz-a" }, { secret: "a-different-secret-that-is-long-enough-1234" }),
    await hsToken({ sub: "fuzz-a", exp: now - 3600 }),
    rawToken({ alg: "none" }, { sub: "fuzz-a", exp: now + 600 }),
    `${valid["fuzz-a"]!.slice(0, -4)}AAAA`,
  ];
});

const big = (bytes: number) => fc.constant(null).map(() => "x".repeat(bytes));
const caseOf = (name: string) =>
  fc
    .array(fc.boolean(), { minLength: name.length, maxLength: name.length })
    .map((upper) => [...name].map((c, i) => (upper[i] ? c.toUpperCase() : c.toLowerCase())).join(""));

// Weighted toward the well-formed, so the issuing path is reached often enough to check.
const arbToken = () =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...Object.values(valid)) },
    { weight: 1, arbitrary: fc.constantFrom(...forged) },
    { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
  );
const arbAuthorization = () =>
  fc.oneof(
    {
      weight: 4,
      arbitrary: fc
        .tuple(caseOf("bearer"), fc.constantFrom(" ", " ", "  ", "\t", ""), arbToken(), fc.constantFrom("", "", " ", "\n"))
        .map(([scheme, gap, token, tail]) => `${scheme}${gap}${token}${tail}`),
    },
    { weight: 1, arbitrary: fc.string() },
  );
const arbHeaderValue = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.integer(),
  fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 }),
  fc.constant(null),
  fc.object({ maxDepth: 1 }),
);
const arbHeaders = () =>
  fc
    .tuple(
      fc.dictionary(
        fc.oneof(fc.constantFrom("Authorization", "Content-Type", "Origin", "X-SCF-Remote-Addr", "__proto__").chain(caseOf), fc.string({ maxLength: 12 })),
        arbHeaderValue,
        { maxKeys: 5 },
      ),
      // Mostly spelled in lower case, which a case variant among the others never overrides.
      fc.option(
        fc.tuple(fc.oneof({ weight: 2, arbitrary: fc.constant("authorization") }, { weight: 1, arbitrary: caseOf("authorization") }), arbAuthorization()),
        {
          nil: undefined,
        },
      ),
    )
    .map(([headers, auth]) => (auth ? { ...headers, [auth[0]]: auth[1] } : headers));

const arbBody = () =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(undefined, "", "{}", '{"profile":"upload"}', '{"key":"a.txt"}', '{"key":"../b"}', '{"profile":"admin"}') },
    { weight: 4, arbitrary: fc.json() },
    { weight: 3, arbitrary: fc.string() },
    { weight: 2, arbitrary: fc.jsonValue().map((value) => Buffer.from(JSON.stringify(value)).toString("base64")) },
    { weight: 2, arbitrary: fc.constantFrom(null, "[]", "null", '{"scope":[]}', "eyJ9", "e30=") },
    { weight: 1, arbitrary: fc.oneof(fc.object(), fc.integer(), fc.boolean()) },
    // Few and large: the platform's own limit and around the broker's 16 KB cap.
    { weight: 1, arbitrary: fc.oneof(big(16 * 1024), big(16 * 1024 + 1), big(1024 * 1024), big(PLATFORM_MAX_BYTES)) },
  );

const arbHttpEvent = () =>
  fc.record(
    {
      httpMethod: fc.oneof(
        { weight: 6, arbitrary: fc.constantFrom("GET", "POST", "post", "Get") },
        { weight: 2, arbitrary: fc.constantFrom("OPTIONS", "PUT", "DELETE", "HEAD") },
        { weight: 1, arbitrary: fc.string({ maxLength: 10 }) },
      ),
      path: fc.oneof(fc.constant("/"), fc.string({ maxLength: 20 })),
      headers: fc.oneof({ weight: 8, arbitrary: arbHeaders() }, { weight: 1, arbitrary: fc.oneof(fc.constant(null), fc.string(), fc.array(fc.string())) }),
      body: arbBody(),
      isBase64Encoded: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(false, undefined) }, { weight: 2, arbitrary: fc.constantFrom(true, "true", 1) }),
      // Often none: any field but the four a GET may carry is a 400, which would keep GETs from issuing.
      queryString: fc.oneof(
        { weight: 2, arbitrary: fc.constant({}) },
        {
          weight: 3,
          arbitrary: fc.dictionary(
            fc.constantFrom("profile", "key", "scope", "token", "x"),
            fc.oneof(fc.string({ maxLength: 20 }), fc.array(fc.string({ maxLength: 5 }))),
          ),
        },
        { weight: 1, arbitrary: fc.constant(null) },
      ),
      queryStringParameters: fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 })),
      requestContext: fc.oneof(
        fc.record({ requestId: fc.oneof(fc.string(), fc.integer()), sourceIp: fc.oneof(fc.ipV4(), fc.string()) }),
        fc.anything({ maxDepth: 1 }),
      ),
    },
    { requiredKeys: ["httpMethod"] },
  );

/** Built after the tokens are minted (constantFrom needs them). */
const arbEvent = () =>
  fc.oneof(
    { weight: 10, arbitrary: arbHttpEvent() },
    {
      weight: 1,
      arbitrary: fc.oneof(
        fc.constantFrom(null, undefined, 0, -1, NaN, true, "", "POST /"),
        fc.string(),
        fc.integer(),
        fc.array(fc.anything({ maxDepth: 1 }), { maxLength: 3 }),
        fc.anything({ maxDepth: 2 }),
      ),
    },
  );

const arbContext: fc.Arbitrary<ScfContext | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.record({
    request_id: fc.string({ maxLength: 36 }),
    getRemainingTimeInMillis: fc.constantFrom(
      () => 10_000,
      () => Number.NaN,
      () => -5,
      () => "soon" as unknown as number,
    ),
  }),
  fc.constant({
    request_id: "ctx-throws",
    getRemainingTimeInMillis: () => {
      throw new Error("clock gone");
    },
  }),
  fc.constant({ getRemainingTimeInMillis: 42 } as unknown as ScfContext),
);

/** The token the event carries in any authorization header, if it is one of the valid ones. */
function validSubjectOf(event: unknown): string | undefined {
  const headers = (event as { headers?: unknown } | null)?.headers;
  if (typeof headers !== "object" || headers === null) return undefined;
  const values = Object.entries(headers)
    .filter(([name]) => name.toLowerCase() === "authorization")
    .map(([, value]) => String(value));
  return SUBJECTS.find((sub) => values.some((value) => value.includes(valid[sub]!)));
}

function expectWellFormed(response: ScfHttpResponse): void {
  expect(Number.isInteger(response.statusCode)).toBe(true);
  expect(response.statusCode).toBeGreaterThanOrEqual(200);
  expect(response.statusCode).toBeLessThan(600);
  expect(response.isBase64Encoded).toBe(false);
  expect(Object.getPrototypeOf(response.headers)).toBe(Object.prototype);
  for (const value of Object.values(response.headers)) expect(typeof value).toBe("string");
  expect(typeof response.body).toBe("string");
  if (response.statusCode === 204) return;
  const body = JSON.parse(response.body) as Record<string, any>;
  if (response.statusCode === 200) expect(Object.keys(body.credentials).sort()).toEqual(["sessionToken", "tmpSecretId", "tmpSecretKey"]);
  else expect(body).toEqual({ error: { code: expect.any(String), message: expect.any(String) }, requestId: expect.any(String) });
}

describe("fuzzing the SCF handler", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { RATE_LIMIT_BURST: "10000" } });
  });
  afterAll(() => h.close());

  it("answers every event well-formed, once logged, and 200 only to a valid token", async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(arbEvent(), arbContext, async (event, ctx) => {
        const lines = h.logLines.length;
        const calls = h.emulator.stsCallCount();
        const response = await h.handler(event, ctx);
        statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
        expectWellFormed(response);
        expect(response.statusCode).not.toBe(500);
        expect(h.logLines.length - lines).toBe(1);
        expect(JSON.parse(h.logLines.at(-1)!)).toMatchObject({ event: "request", status: response.statusCode });
        if (response.statusCode !== 200) {
          expect(h.emulator.stsCallCount()).toBe(calls);
          return;
        }
        const sub = validSubjectOf(event);
        expect(sub).toBeDefined();
        expect(JSON.parse(response.body).prefix).toBe(`users/${sub}/`);
      }),
      { numRuns: 800 },
    );
    // The generators must reach both the issuing path and the refusals to mean anything
    // (about 25 issued, and about 90 or more each of 400, 401 and 405, per 800 runs).
    expect(statuses.get(200) ?? 0).toBeGreaterThanOrEqual(5);
    expect([...statuses.keys()].filter((status) => status >= 400).length).toBeGreaterThanOrEqual(3);
  });
});

describe("fuzzing main_handler itself, configured from the environment", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
    // main_handler reads process.env once, at its first invocation (this file's own worker).
    Object.assign(process.env, h.env, { RATE_LIMIT_BURST: "10000" });
  });
  afterAll(() => h.close());

  it("never throws and always answers well-formed", async () => {
    await fc.assert(
      fc.asyncProperty(arbEvent(), arbContext, async (event, ctx) => {
        const response = await main_handler(event, ctx);
        expectWellFormed(response);
        expect(response.statusCode).not.toBe(500);
        if (response.statusCode === 200) expect(validSubjectOf(event)).toBeDefined();
      }),
      { numRuns: 25 },
    );
  });
});
