/**
 * The static site in a real browser: Debian's headless Chromium driven by playwright-core
 * against `npm start`'s stack (broker, STS emulator, COS server, site) started in-process.
 * Without /usr/bin/chromium the suite is skipped loudly; with REQUIRE_CHROMIUM=1 (CI) a
 * missing browser is a failure.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevStack, startDevStack } from "../../dev/stack.ts";
import { ledgered, notice } from "../support/capture.ts";
import { testLogger } from "../support/harness.ts";

const CHROMIUM = "/usr/bin/chromium";
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const ARTIFACTS = resolve(import.meta.dirname, "../../test-artifacts");
const found = existsSync(CHROMIUM);
const required = process.env.REQUIRE_CHROMIUM === "1";
if (!found && !required) {
  notice(`\n*** SKIPPING the real-browser test: ${CHROMIUM} is missing (apt-get install chromium). Set REQUIRE_CHROMIUM=1 to make this a failure. ***\n`);
}

describe.skipIf(!found && !required)("the static site in headless Chromium", () => {
  let stack: DevStack;
  let context: BrowserContext;
  let page: Page;
  let profileDir: string;

  beforeAll(async () => {
    if (!found) throw new Error(`REQUIRE_CHROMIUM=1 but ${CHROMIUM} does not exist: apt-get install chromium`);
    stack = await startDevStack({}, { logger: testLogger(), emulator: ledgered() });
    profileDir = mkdtempSync(join(tmpdir(), "chromium-profile-"));
    context = await chromium.launchPersistentContext(profileDir, { executablePath: CHROMIUM, headless: true, args: FLAGS });
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(10_000);
    await page.goto(stack.site.url);
  });
  afterAll(async () => {
    await context?.close();
    await stack?.close();
    if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  });

  /** Waits for the status line to match, and returns it. */
  async function message(pattern: RegExp): Promise<string> {
    const matched = await page.waitForFunction((source) => {
      const text = document.getElementById("message")?.textContent ?? "";
      return new RegExp(source).test(text) && text;
    }, pattern.source);
    return String(await matched.jsonValue());
  }

  it("says in words when the login token is refused", async () => {
    await page.fill("#token", "not-a-login-token");
    await page.click("#signin-button");
    expect(await message(/not accepted/)).toMatch(/login token was not accepted/);
  });

  it("signs in with a dev token, uploads with a progress bar, and lists the file", async () => {
    await page.fill("#dev-name", "alice");
    await page.click("#dev-token-button");
    await page.waitForSelector("#upload:not([hidden])");
    expect(await page.textContent("#who")).toContain("users/alice/");

    await page.setInputFiles("#file", { name: "hello.txt", mimeType: "text/plain", buffer: Buffer.from("hello from chromium") });
    expect(await page.inputValue("#key")).toBe("users/alice/hello.txt");
    await page.click("#upload-button");
    expect(await message(/Uploaded/)).toBe("Uploaded users/alice/hello.txt.");
    expect(await page.getAttribute("#progress", "value")).toBe("100");
    await page.waitForSelector("#file-list td:text-is('hello.txt')");
    expect(stack.cos!.storage.get(stack.env.COS_BUCKET!, "users/alice/hello.txt").body.toString()).toBe("hello from chromium");
  });

  it("shows COS's access-denied when the page writes into another user's prefix", async () => {
    await page.fill("#key", "users/bob/hello.txt");
    await page.click("#upload-button");
    expect(await message(/denied/)).toMatch(/^Access denied: your credentials do not allow you to write "users\/bob\/hello\.txt"\. COS said: Access Denied\./);
    expect(await page.getAttribute("#message", "class")).toBe("error");
    expect(await page.textContent("#progress-text")).toBe("not uploaded");
    expect(stack.cos!.calls.at(-1)).toMatchObject({ operation: "PutObject", code: "AccessDenied" });
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, "static-site.png"), fullPage: true });
  });

  it("shows the broker's refusal when ScopeLimit asks for another user's object", async () => {
    await page.check("#scope-limit");
    await page.click("#upload-button");
    expect(await message(/refused/)).toMatch(/^The broker refused to grant this: scope\[0\]\.prefix must lie inside your prefix/);
  });
});
