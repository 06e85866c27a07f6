/**
 * The static site in a real browser: Debian's headless Chromium driven by playwright-core
 * against `npm start`'s stack (broker, STS emulator, COS server, site) started in-process.
 * Each result must show under the action that caused it, inside the window, at a desktop and
 * a phone size; screenshots of both land in test-artifacts/. Without /usr/bin/chromium the
 * suite is skipped loudly; with REQUIRE_CHROMIUM=1 (CI) a missing browser is a failure.
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
const VIEWPORTS = [
  { width: 1280, height: 720 },
  { width: 390, height: 844 },
] as const;
const found = existsSync(CHROMIUM);
const required = process.env.REQUIRE_CHROMIUM === "1";
if (!found && !required) {
  notice(`\n*** SKIPPING the real-browser test: ${CHROMIUM} is missing (apt-get install chromium). Set REQUIRE_CHROMIUM=1 to make this a failure. ***\n`);
}

type Section = "signin" | "upload" | "files";

describe.skipIf(!found && !required)("the static site in headless Chromium", () => {
  let stack: DevStack;
  let context: BrowserContext;
  let page: Page;
  let profileDir: string;

  beforeAll(async () => {
    if (!found) throw new Error(`REQUIRE_CHROMIUM=1 but ${CHROMIUM} does not exist: apt-get install chromium`);
    stack = await startDevStack({}, { logger: testLogger(), emulator: ledgered() });
    profileDir = mkdtempSync(join(tmpdir(), "chromium-profile-"));
    context = await chromium.launchPersistentContext(profileDir, { executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: VIEWPORTS[0] });
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(10_000);
    await page.goto(stack.site.url);
    mkdirSync(ARTIFACTS, { recursive: true });
  });
  afterAll(async () => {
    await context?.close();
    await stack?.close();
    if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  });

  /** Waits for a section's result to match, and returns its words and the server's answer below them. */
  async function result(section: Section, pattern: RegExp): Promise<{ kind: string; text: string; detail: string }> {
    const matched = await page.waitForFunction(
      ([id, source]) => {
        const box = document.getElementById(`${id}-status`);
        const [text, detail] = [...(box?.querySelectorAll("p") ?? [])].map((p) => p.textContent ?? "");
        return text && new RegExp(source!).test(text) ? { kind: box!.className.replace("status", "").trim(), text, detail: detail ?? "" } : false;
      },
      [section, pattern.source] as const,
    );
    return (await matched.jsonValue()) as { kind: string; text: string; detail: string };
  }

  /** The element is wholly inside the window, its text not cut off, and the page no wider than the window. */
  async function expectInView(selector: string): Promise<void> {
    const seen = await page.$eval(selector, (element) => {
      const box = element.getBoundingClientRect();
      return {
        box: { top: box.top, left: box.left, bottom: box.bottom, right: box.right },
        window: { width: window.innerWidth, height: window.innerHeight },
        clipped: element.scrollWidth > element.clientWidth || element.scrollHeight > element.clientHeight,
        pageWider: document.documentElement.scrollWidth > window.innerWidth,
      };
    });
    expect(seen.box.top, `${selector} starts above the window`).toBeGreaterThanOrEqual(0);
    expect(seen.box.left).toBeGreaterThanOrEqual(0);
    expect(seen.box.bottom, `${selector} ends below the window`).toBeLessThanOrEqual(seen.window.height);
    expect(seen.box.right).toBeLessThanOrEqual(seen.window.width);
    expect(seen.box.bottom - seen.box.top).toBeGreaterThan(0);
    expect(seen.clipped, `${selector}'s text is cut off`).toBe(false);
    expect(seen.pageWider, "the page scrolls sideways").toBe(false);
  }

  const shoot = (name: string) =>
    page.screenshot({ path: join(ARTIFACTS, `static-site-${name}-${page.viewportSize()!.width}x${page.viewportSize()!.height}.png`) });

  async function signInAs(name: string): Promise<void> {
    await page.fill("#dev-name", name);
    await page.click("#dev-token-button");
    expect((await result("signin", new RegExp(`^Signed in\\. Your folder is users/${name}/`))).text).toBe(
      `Signed in. Your folder is users/${name}/ in bucket examplebucket-1250000000 (ap-guangzhou).`,
    );
  }

  it("says in words, under the sign-in button, when the login token is refused, with the broker's code below", async () => {
    await page.fill("#token", "not-a-login-token");
    await page.click("#signin-button");
    const refused = await result("signin", /not accepted/);
    expect(refused).toEqual({
      kind: "error",
      text: "Your login token was not accepted: it has expired, or it was not signed by the key the broker trusts. Sign in again.",
      detail: expect.stringMatching(/^The broker answered 401 InvalidToken: /),
    });
    await expectInView("#signin-status");
    expect(await page.isHidden("#upload")).toBe(true);
  });

  it("signs in with a dev token and shows an empty folder as empty", async () => {
    await signInAs("alice");
    await page.waitForSelector("#empty-folder:text-is('Your folder users/alice/ is empty: files you upload show up here.')", { state: "visible" });
    expect(await page.isHidden("#files table")).toBe(true);
  });

  it("uploads with a progress bar, says so under the button, and lists the file", async () => {
    await page.setInputFiles("#file", { name: "hello.txt", mimeType: "text/plain", buffer: Buffer.from("hello from chromium") });
    expect(await page.inputValue("#key")).toBe("users/alice/hello.txt");
    await page.click("#upload-button");
    expect(await result("upload", /Uploaded/)).toEqual({ kind: "ok", text: "Uploaded hello.txt as users/alice/hello.txt (19 B).", detail: "" });
    expect(await page.getAttribute("#progress", "value")).toBe("100");
    await page.waitForSelector("#file-list td:text-is('hello.txt')");
    expect(await page.isHidden("#empty-folder")).toBe(true);
    expect(stack.cos!.storage.get(stack.env.COS_BUCKET!, "users/alice/hello.txt").body.toString()).toBe("hello from chromium");
    await expectInView("#upload-status");
  });

  it("refuses a folder name as the key before asking anyone", async () => {
    const calls = stack.cos!.calls.length;
    const issued = stack.emulator!.issued.size;
    await page.fill("#key", "users/alice/");
    await page.click("#upload-button");
    expect(await result("upload", /folder/)).toEqual({
      kind: "error",
      text: 'Not uploaded: "users/alice/" names a folder, not a file: add a file name after the last "/", e.g. users/alice/hello.txt.',
      detail: "",
    });
    expect(stack.cos!.calls.length).toBe(calls);
    expect(stack.emulator!.issued.size).toBe(issued);
    expect(await page.isHidden("#progress")).toBe(true);
  });

  for (const viewport of VIEWPORTS) {
    describe(`at ${viewport.width}x${viewport.height}`, () => {
      beforeAll(async () => {
        await page.setViewportSize(viewport);
        await page.uncheck("#scope-limit");
        await page.evaluate(() => window.scrollTo(0, 0));
      });

      it("shows COS's AccessDenied for another user's folder under the Upload button, in view, in words", async () => {
        await page.fill("#key", "users/bob/hello.txt");
        await page.click("#upload-button");
        expect(await result("upload", /outside your folder/)).toEqual({
          kind: "error",
          text: 'Not uploaded: "users/bob/hello.txt" is outside your folder users/alice/, the only place you can save files.',
          detail: "COS answered 403 AccessDenied: Access Denied.",
        });
        expect(stack.cos!.calls.at(-1)).toMatchObject({ operation: "PutObject", code: "AccessDenied" });
        expect(await page.isHidden("#progress")).toBe(true);
        await expectInView("#upload-status");
        await expectInView("#upload-button");
        await shoot("access-denied");
      });

      it("shows the broker's ScopeLimit refusal the same way, with the broker's code for developers", async () => {
        await page.check("#scope-limit");
        await page.click("#upload-button");
        expect(await result("upload", /outside your folder/)).toEqual({
          kind: "error",
          text: 'Not uploaded: "users/bob/hello.txt" is outside your folder users/alice/, the only place you can save files.',
          detail: "The broker answered 403 ScopeNotAllowed: scope[0].prefix must lie inside your prefix",
        });
        await expectInView("#upload-status");
        await shoot("scope-refused");
      });
    });
  }

  it("forgets the previous user on a switch: no bar, no files, no result, a key in the new folder", async () => {
    await page.setViewportSize(VIEWPORTS[0]);
    await page.uncheck("#scope-limit");
    await page.setInputFiles("#file", { name: "again.txt", mimeType: "text/plain", buffer: Buffer.from("again") });
    await page.click("#upload-button");
    await result("upload", /Uploaded/);
    expect(await page.getAttribute("#progress", "value")).toBe("100");

    await signInAs("bob");
    expect(await page.isHidden("#progress")).toBe(true);
    expect(await page.textContent("#progress-text")).toBe("");
    expect(await page.isHidden("#upload-status")).toBe(true);
    await page.waitForSelector("#empty-folder:text-is('Your folder users/bob/ is empty: files you upload show up here.')", { state: "visible" });
    expect(await page.$$("#file-list tr")).toHaveLength(0);
    expect(await page.inputValue("#key")).toBe("users/bob/");
    expect(await page.inputValue("#file")).toBe("");
    expect(await page.isDisabled("#upload-button")).toBe(true);
    await shoot("switched-user");
  });
});
