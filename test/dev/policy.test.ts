/** `npm run policy`, spawned as a newcomer would run it: same configuration, same policy as the broker. */
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, context, functionUrlEvent, type Harness, parse, startHarness } from "../support/harness.ts";
import { runScript } from "../support/spawn.ts";
import { hsToken } from "../support/tokens.ts";

const policyCli = (args: string[], env: Record<string, string> = {}) => runScript("dev/policy.ts", args, env);
const printedPolicy = (stdout: string) => JSON.parse(stdout.slice(stdout.indexOf("{\n"), stdout.indexOf("\nin plain words:")));
const EXAMPLE_PROFILES = resolve(import.meta.dirname, "../../examples/profiles.json");

describe("npm run policy", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  it("prints exactly the policy the broker sends to STS, and says what it means", async () => {
    const [cli, response] = await Promise.all([
      policyCli(["--sub", "alice", "--key", "photos/cat.png"]),
      h.handler(functionUrlEvent({ headers: bearer(await hsToken({ sub: "alice" })), body: '{"key":"photos/cat.png"}' }), context()),
    ]);
    expect(cli.code, cli.stderr).toBe(0);
    const sent = h.emulator.issued.get(parse(response).credentials.tmpSecretId)!.policy;
    expect(printedPolicy(cli.stdout)).toEqual(sent);
    expect(cli.stdout).toMatch(/^profile upload for sub=alice: prefix users\/alice\/, credentials for 900 s, key users\/alice\/photos\/cat\.png$/m);
    expect(cli.stdout).toMatch(/policy sent to STS \(\d+ of at most 2048 characters URL-encoded\)/);
    expect(cli.stdout).toContain(
      "  can PutObject, PostObject, InitiateMultipartUpload, ListMultipartUploads, ListParts, UploadPart, CompleteMultipartUpload, AbortMultipartUpload on users/alice/photos/cat.png",
    );
  });

  it("answers --can with allow or deny and the statement that decided, in its exit code too", async () => {
    const [allowed, denied, listing, custom, https] = await Promise.all([
      policyCli(["--sub", "alice", "--can", "PutObject", "users/alice/a.png"]),
      policyCli(["--sub", "alice", "--can", "PutObject users/bob/x"]),
      policyCli(["--sub", "alice", "--profile", "list", "--can", "GetBucket", "users/alice1/"]),
      policyCli(
        [
          "--sub",
          "alice",
          "--profile",
          "photos",
          "--can",
          "PutObject",
          "users/alice/photos/a.html",
          "--header",
          "content-type=text/html",
          "--header",
          "Content-Length=100",
        ],
        { STS_PROFILES_FILE: EXAMPLE_PROFILES },
      ),
      policyCli(
        ["--sub", "alice", "--profile", "avatar", "--filename", "me.png", "--can", "PutObject", "avatars/x.png", "--header", "cos:secure-transport=false"],
        { STS_PROFILES_FILE: EXAMPLE_PROFILES },
      ),
    ]);
    expect(allowed).toMatchObject({ code: 0 });
    expect(allowed.stdout).toMatch(/^allow: statement 0 allows name\/cos:PutObject on users\/alice\/\*$/m);
    expect(denied).toMatchObject({ code: 1 });
    expect(denied.stdout).toMatch(/^deny: no statement allows name\/cos:PutObject on users\/bob\/x$/m);
    expect(listing.stdout).toMatch(
      /^deny: no statement allows name\/cos:GetBucket on bucket examplebucket-1250000000: statement 0 matches, but string_like cos:prefix .* is not met \(cos:prefix is "users\/alice1\/"\)$/m,
    );
    expect(custom.code, custom.stderr).toBe(1);
    expect(custom.stdout).toContain("  can PutObject, PostObject on users/alice/photos/*, objects up to 20 MB per request, image/*, video/mp4 only");
    expect(custom.stdout).toMatch(/^deny: .*cos:content-type .* is not met \(cos:content-type is "text\/html"\)$/m);
    expect(custom.stderr).toMatch(/warning: profile 'public-read' \(shared-area\)/);
    expect(https.stdout).toMatch(/key avatars\/[\w-]{43}\/\d{4}\/\d{2}\/[\w-]{22}\.png/);
    expect(https.stdout).toContain("over HTTPS only");
  });

  it("prints usage and exits 2 on bad flags", async () => {
    const results = await Promise.all(
      [
        ["--sub"],
        [],
        ["--sub", "a", "--bogus"],
        ["--sub", "a", "--can", "PutObject"],
        ["--sub", "a", "--can", "Frobnicate", "k"],
        ["--sub", "a", "--header", "a=b"],
        ["--sub", "a", "stray"],
        ["--sub", "a", "--can", "GetObject", "k", "--header", "novalue"],
      ].map((args) => policyCli(args)),
    );
    for (const result of results) {
      expect(result.code).toBe(2);
      expect(result.stderr).toContain("usage: npm run policy -- --sub <subject>");
      expect(result.stdout).toBe("");
    }
  });

  it("exits 1 with the reason when the configuration or the request is refused", async () => {
    const [lint, refused] = await Promise.all([
      policyCli(["--sub", "alice"], { STS_PROFILES: '{"all": {"actions": ["name/cos:*"]}}' }),
      policyCli(["--sub", "alice", "--key", "../bob/x"]),
    ]);
    expect(lint.code).toBe(1);
    expect(lint.stderr).toMatch(/^configuration: STS_PROFILES: profile 'all' breaks rule wildcard-action/);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^refused \(ScopeNotAllowed\): key must not contain a '\.' or '\.\.' path segment/);
  });
});
