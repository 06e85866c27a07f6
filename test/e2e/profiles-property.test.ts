/**
 * The promise of profiles, for all inputs: whatever profile an operator writes (that passes
 * the startup lint), whoever asks and however they narrow it, every (action, key) that the
 * evaluator allows under the policy STS received lies inside that user's prefix and that
 * profile's actions, and no key of another user is ever allowed.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHandler } from "../../functions/issue-credentials/index.ts";
import { isBucketAction, KNOWN_ACTIONS } from "../../lib/cam/actions.ts";
import { evaluatePolicy } from "../../lib/cam/evaluate.ts";
import type { CamPolicy } from "../../lib/cam/policy.ts";
import { compilePrefixTemplate, prefixFor } from "../../lib/grant/prefix.ts";
import { APPID, BUCKET, bearer, context, functionUrlEvent, type Harness, parse, REGION, startHarness, testLogger } from "../support/harness.ts";
import { hsToken } from "../support/tokens.ts";

const ROOT = `qcs::cos:${REGION}:uid/${APPID}:${BUCKET}/`;
const SUBJECTS = ["a", "a1", "ab", "alice", "alice1", "b"];
const SOURCE_IP = "203.0.113.7";
const ACTIONS = [...KNOWN_ACTIONS];

const arbProfile = fc
  .record(
    {
      actions: fc.subarray(ACTIONS, { minLength: 1, maxLength: 6 }),
      resources: fc.array(fc.constantFrom("*", "photos/", "avatar.*", "a/b.txt", "*/thumbs/", "docs/*.pdf", "写真/"), { minLength: 1, maxLength: 3 }),
      prefix: fc.constantFrom("files/{sub}/", "t/{sub_hash}/", "{sub}/"),
      conditions: fc.record(
        {
          maxBytes: fc.integer({ min: 1, max: 10_000 }),
          contentTypes: fc.constantFrom(["image/*"], ["image/png", "application/pdf"]),
          pinSourceIp: fc.boolean(),
          httpsOnly: fc.boolean(),
        },
        { requiredKeys: [] },
      ),
      chooses: fc.boolean(),
    },
    { requiredKeys: ["actions", "chooses"] },
  )
  .map(({ chooses, ...profile }) => {
    if (!chooses) return profile;
    // A profile that chooses keys writes objects on its whole prefix (what the lint demands).
    const { resources: _whole, ...rest } = profile;
    return {
      ...rest,
      actions: [...new Set([...profile.actions.filter((action) => !isBucketAction(action)), "name/cos:PutObject"])],
      extensions: ["png", "jpg"],
    };
  });

const segment = fc.constantFrom("photos", "a", "b.txt", "avatar.png", "thumbs", "docs", "x.pdf", "写真", "..", ".", "*", "");
const arbPath = fc.array(segment, { minLength: 1, maxLength: 3 }).map((parts) => parts.join("/"));
const arbAsk = fc.oneof(
  fc.constant({}),
  arbPath.map((key) => ({ key })),
);
const arbContext = fc.record(
  {
    "cos:content-length": fc.integer({ min: 0, max: 20_000 }).map(String),
    "cos:content-type": fc.constantFrom("image/png", "text/html", "application/pdf"),
    "qcs:ip": fc.constantFrom(SOURCE_IP, "198.51.100.1"),
    "cos:secure-transport": fc.constantFrom("true", "false"),
  },
  { requiredKeys: [] },
);
/** A context every condition the generator writes accepts, so allowed requests are common enough to test. */
const FITTING = { "cos:content-length": "1", "cos:content-type": "image/png", "qcs:ip": SOURCE_IP, "cos:secure-transport": "true" };
/** `action` is an index into the profile's own actions (often) or any name; `owner` null means the asking user. */
const arbCosRequest = fc.record({
  action: fc.oneof(fc.nat(), fc.constantFrom(...ACTIONS, "name/cos:GetService", "name/cos:PutBucketPolicy")),
  owner: fc.oneof({ weight: 2, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.constantFrom(...SUBJECTS) }),
  rest: fc.oneof(arbPath, fc.constantFrom("photos/a.png", "avatar.png", "a/b.txt", "x/thumbs/t.png", "docs/d.pdf", "写真/p.png")),
  context: fc.oneof(fc.constant(FITTING), arbContext),
});

describe("property: custom profiles never reach past the user's prefix or the profile's actions", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  it("holds for generated profiles, subjects, narrowings and COS requests", async () => {
    let issued = 0;
    let allowedSeen = 0;
    await fc.assert(
      fc.asyncProperty(
        arbProfile,
        fc.constantFrom(...SUBJECTS),
        arbAsk,
        fc.array(arbCosRequest, { minLength: 20, maxLength: 20 }),
        async (definition, sub, ask, cosRequests) => {
          const handler = createHandler({ env: { ...h.env, STS_PROFILES: JSON.stringify({ custom: definition }) }, logger: testLogger() });
          const body = { profile: "custom", ...("extensions" in definition ? { filename: "Photo.PNG" } : ask) };
          const token = await hsToken({ sub });
          const response = await handler(functionUrlEvent({ headers: bearer(token), body: JSON.stringify(body), sourceIp: SOURCE_IP }), context());
          if (response.statusCode !== 200) {
            // Refused by the lint (500 ConfigError) or the request's narrowing (4xx): nothing issued.
            expect([400, 403, 500]).toContain(response.statusCode);
            return;
          }
          issued += 1;
          const answer = parse(response);
          const policy = h.emulator.issued.get(answer.credentials.tmpSecretId)!.policy as CamPolicy;
          const template = compilePrefixTemplate(definition.prefix ?? "users/{sub}/");
          expect(answer.prefix).toBe(prefixFor(template, { sub }));
          for (const { action: pick, owner: who, rest, context: requestContext } of cosRequests) {
            const action = typeof pick === "number" ? definition.actions[pick % definition.actions.length]! : pick;
            const owner = who ?? sub;
            const key = who === null && answer.key && rest === "avatar.png" ? answer.key : prefixFor(template, { sub: owner }) + rest;
            const bucketLevel = isBucketAction(action);
            const verdict = evaluatePolicy(policy, {
              action,
              resource: ROOT + (bucketLevel ? "" : key),
              context: { ...requestContext, ...(bucketLevel ? { "cos:prefix": key } : {}) },
            });
            if (owner !== sub) expect(verdict.allowed, `${action} ${key} for ${sub}`).toBe(false);
            if (!verdict.allowed) continue;
            allowedSeen += 1;
            expect(answer.allowActions).toContain(action);
            expect(definition.actions).toContain(action);
            expect(key.startsWith(answer.prefix)).toBe(true);
          }
        },
      ),
      { numRuns: 120 },
    );
    // The generators must reach the issuing and allowing paths often enough to mean something.
    expect(issued).toBeGreaterThan(40);
    expect(allowedSeen).toBeGreaterThan(40);
  });
});
