/**
 * The broker's central promise, for all inputs: a request is either refused before STS,
 * or every resource in the policy STS received lies inside that user's whole prefix and
 * every action belongs to the profile.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { builtInProfiles } from "../../lib/grant/profiles.ts";
import { APPID, BUCKET, bearer, context, functionUrlEvent, type Harness, parse, REGION, startHarness } from "../support/harness.ts";
import { hsToken } from "../support/tokens.ts";

const UPLOAD = builtInProfiles.get("upload")!.actions;
const fragment = fc.constantFrom("alice", "alice1", "bob", "..", ".", "*", "?", "", "a b", "%2e%2e", "x/y", "\u0000", "\u202e", "é");
const path = fc.array(fragment, { maxLength: 4 }).map((parts) => parts.join("/"));

const arbSub = fc.oneof(fragment, fc.string({ maxLength: 20 }), fc.string({ unit: "binary", maxLength: 20 }));
const arbItem = (sub: string) =>
  fc.record({
    action: fc.oneof(fc.constantFrom(...UPLOAD), fc.constantFrom("name/cos:*", "*", "name/cos:GetObject", "name/cos:DeleteObject", "PutObject")),
    bucket: fc.constantFrom(BUCKET, "other-1250000000", ""),
    region: fc.constantFrom(REGION, "ap-beijing"),
    prefix: fc.oneof(
      path.map((rest) => `users/${sub}/${rest}`),
      path.map((rest) => `users/${rest}`),
      path,
    ),
  });
const arbBody = (sub: string) =>
  fc.oneof(
    fc.constant(undefined),
    fc.record({ profile: fc.constantFrom(undefined, "upload", "admin", 3) }, { requiredKeys: [] }),
    fc.record({ key: fc.oneof(path, fc.string({ maxLength: 12 })) }),
    fc.record({ scope: fc.array(arbItem(sub), { minLength: 0, maxLength: 4 }) }),
    fc.record({ key: path, scope: fc.array(arbItem(sub), { maxLength: 2 }) }),
  );

describe("property: issued policies never leave the user's prefix or profile", () => {
  let h: Harness;
  beforeAll(async () => {
    // Generated subjects repeat: a rate limit would turn runs into 429s and weaken the property.
    h = await startHarness({ env: { RATE_LIMIT_BURST: "10000" } });
  });
  afterAll(() => h.close());

  it("holds for generated claims and request bodies", async () => {
    let issued = 0;
    await fc.assert(
      fc.asyncProperty(
        arbSub.chain((sub) => fc.tuple(fc.constant(sub), arbBody(sub))),
        async ([sub, body]) => {
          const callsBefore = h.emulator.stsCallCount();
          const event = functionUrlEvent({ headers: bearer(await hsToken({ sub })), body: body === undefined ? undefined : JSON.stringify(body) });
          const response = await h.handler(event, context());
          if (response.statusCode !== 200) {
            expect(response.statusCode).toBeGreaterThanOrEqual(400);
            expect(response.statusCode).toBeLessThan(500);
            expect(h.emulator.stsCallCount()).toBe(callsBefore);
            return;
          }
          issued += 1;
          const policy = h.emulator.issued.get(parse(response).credentials.tmpSecretId)!.policy as {
            statement: { effect: string; action: string[]; resource: string[] }[];
          };
          const userRoot = `qcs::cos:${REGION}:uid/${APPID}:${BUCKET}/users/${sub}/`;
          for (const statement of policy.statement) {
            expect(statement.effect).toBe("allow");
            for (const action of statement.action) expect(UPLOAD).toContain(action);
            for (const resource of statement.resource) {
              expect(resource.startsWith(userRoot)).toBe(true);
              const key = resource.slice(userRoot.length);
              expect(key.replace(/\*$/, "")).not.toMatch(/[*?]/);
              expect(key.split("/")).not.toContain("..");
            }
          }
        },
      ),
      { numRuns: 300 },
    );
    // The generators must reach the issuing path often enough to mean something.
    expect(issued).toBeGreaterThan(20);
  });
});
