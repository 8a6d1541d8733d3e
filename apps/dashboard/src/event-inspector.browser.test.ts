import { mkdtempSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eventually } from "@yuju-relay/testing";
import { Redis } from "ioredis";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  CALLBACK_TOKEN,
  chineseMessage,
  PASSWORD,
  PLATFORM_KEY,
  startInspectorUnderTest,
  USER,
} from "./inspector-under-test.ts";

// Debian's chromium: Playwright's own browser download is not needed (nor reachable in CI).
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
// The README's screenshot is refreshed with UPDATE_SCREENSHOT=1; otherwise it goes to a temporary file.
const SCREENSHOT = process.env.UPDATE_SCREENSHOT
  ? new URL("../../../docs/event-timeline.png", import.meta.url).pathname
  : join(mkdtempSync(join(tmpdir(), "inspector-")), "event-timeline.png");
const basic = { authorization: `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString("base64")}` };

describe("event inspector in a real browser (real ingress, worker, dashboard, Redis and receivers)", () => {
  const redis = new Redis(inject("redisUrl"), { maxRetriesPerRequest: null });
  let stack: Awaited<ReturnType<typeof startInspectorUnderTest>>;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const messageId = `m-${Date.now()}`;
  const eventId = `msg_${messageId}`;
  const chatId = `chat-${Date.now()}`;

  beforeAll(async () => {
    stack = await startInspectorUnderTest(inject("redisUrl"), redis);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    });
    context = await browser.newContext({
      httpCredentials: { username: USER, password: PASSWORD },
      timezoneId: "Asia/Shanghai",
      locale: "zh-CN",
    });
    page = await context.newPage();

    // crm answers 503 (with Retry-After) then 200: two attempts; archive wants only images.
    stack.crm.retryAfter = "1";
    stack.crm.respondWith(503);
    expect(await stack.send(chineseMessage(messageId, chatId))).toBe(200);
    await eventually(() => expect(stack.crm.deliveries.map((d) => d.status)).toEqual([503, 200]), {
      timeoutMs: 20_000,
    });
    await stack.recorded(eventId, 2);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
    await redis.quit();
  });

  it("finds the event by its messageId, then by its chatId", async () => {
    for (const q of [messageId, chatId]) {
      await page.goto(`${stack.dashboard.url}/events`);
      await page.fill("input[name=q]", q);
      await page.click("button[type=submit]");
      const row = page.locator("table.events tbody tr", { has: page.locator(`a[href="/events/${eventId}"]`) });
      await expect(row.count()).resolves.toBe(1);
      const text = await row.innerText();
      expect(text).toContain("在吗？我想开一张发票");
      expect(text).toContain("✓ crm: delivered");
      expect(text).toContain("⊘ archive: filtered");
    }
    // The same answer as JSON, for scripts.
    const api = await fetch(`${stack.dashboard.url}/api/events?q=${chatId}`, { headers: basic });
    const body = (await api.json()) as { events: Array<{ id: string; deliveries: unknown[] }>; nextCursor: null };
    expect(body.events.map((e) => e.id)).toEqual([eventId]);
    expect(body.events[0]!.deliveries).toEqual(
      expect.arrayContaining([{ destination: "crm", state: "delivered", reason: null }]),
    );
  });

  it("shows the timeline: a 503 attempt then a 200, with their times, and the filtered destination's reason", async () => {
    await page.goto(`${stack.dashboard.url}/events/${eventId}`);
    const crm = page.locator('section.destination[data-destination="crm"]');
    const rows = crm.locator("table.attempts tbody tr");
    await expect(rows.count()).resolves.toBe(2);
    const [first, second] = [await rows.nth(0).innerText(), await rows.nth(1).innerText()];
    expect(first).toMatch(/503/);
    expect(first).toMatch(/1000 ms/); // its Retry-After
    expect(second).toMatch(/200/);
    // Times in the viewer's local time (Asia/Shanghai here), UTC in the tooltip.
    const times = rows.locator("time");
    const utc = await times.nth(0).getAttribute("title");
    expect(utc).toMatch(/^\d{4}-\d\d-\d\dT.*Z UTC$/);
    expect(await times.nth(0).innerText()).not.toContain("Z");
    expect(Date.parse((await times.nth(1).getAttribute("datetime"))!)).toBeGreaterThanOrEqual(
      Date.parse((await times.nth(0).getAttribute("datetime"))!),
    );
    const archive = page.locator('section.destination[data-destination="archive"]');
    expect(await archive.innerText()).toContain("Excluded by filter.kinds: text not in [image]");
    // The body as sent, with its webhook-id.
    expect(await page.locator("pre.body").innerText()).toContain('"type": "message.received"');
    expect(await page.locator("main").innerText()).toContain(`webhook-id: ${eventId}`);
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(statSync(SCREENSHOT).size).toBeGreaterThan(10_000);
  });

  it("shows the conversation in order, linked from the event", async () => {
    await page.goto(`${stack.dashboard.url}/events/${eventId}`);
    await page.click(`a[href="/conversations/${chatId}"]`);
    expect(page.url()).toBe(`${stack.dashboard.url}/conversations/${chatId}`);
    const rows = page.locator("table.events tbody tr");
    expect(await rows.count()).toBe(1);
    expect(await rows.first().innerText()).toContain("✓ crm: delivered");
  });

  it("shows a send through the send API on the conversation's page, after the event, sent, with its platform call", async () => {
    const text = "发票已开好，请查收。";
    const accepted = await stack.sendMessage({ chatId, text });
    expect(accepted.status).toBe(202);
    const row = page.locator(`tr.send[data-send-id="${accepted.body.id}"]`);
    await eventually(async () => {
      await page.goto(`${stack.dashboard.url}/conversations/${chatId}`);
      expect(await row.innerText()).toContain("send: sent");
    });
    const shown = await row.innerText();
    for (const part of [accepted.body.id, "send (text)", text, "from 1688857012345678", "#1", "200", "delivered"])
      expect(shown).toContain(part);
    // In time order: the callback's event, then the reply.
    const rows = page.locator("table.events tbody tr");
    expect(await rows.count()).toBe(2);
    expect(await rows.nth(1).getAttribute("data-send-id")).toBe(accepted.body.id);
    expect(await page.content()).not.toContain(PLATFORM_KEY);
  });

  it("replays from the page: under the same webhook-id, then as new under a new one; the log says who and when", async () => {
    await page.goto(`${stack.dashboard.url}/events/${eventId}`);
    page.once("dialog", (dialog) => void dialog.accept());
    const before = stack.crm.deliveries.length;
    await page.click('section.destination[data-destination="crm"] button[data-as-new="false"]');
    await eventually(() => expect(stack.crm.deliveries).toHaveLength(before + 1), { timeoutMs: 15_000 });
    expect(stack.crm.deliveries.at(-1)!.headers["webhook-id"]).toBe(eventId);

    // Wait for that delivery to complete before the next replay (a waiting job is skipped).
    await eventually(async () => {
      const view = (await (await fetch(`${stack.dashboard.url}/api/events/${eventId}`, { headers: basic })).json()) as {
        deliveries: Array<{ destination: string; jobState: string }>;
      };
      expect(view.deliveries.find((d) => d.destination === "crm")?.jobState).toBe("completed");
    });
    await page.goto(`${stack.dashboard.url}/events/${eventId}`);
    page.once("dialog", (dialog) => void dialog.accept());
    await page.click('section.destination[data-destination="crm"] button[data-as-new="true"]');
    await eventually(() => expect(stack.crm.deliveries).toHaveLength(before + 2), { timeoutMs: 15_000 });
    expect(stack.crm.deliveries.at(-1)!.headers["webhook-id"]).toBe(`${eventId}_r1`);

    await eventually(async () => {
      await page.goto(`${stack.dashboard.url}/events/${eventId}`);
      const log = await page
        .locator('section.destination[data-destination="crm"] pre.log')
        .innerText({ timeout: 1_000 });
      expect(log).toMatch(/^\d{4}-\S+Z dashboard user admin: replay to crm: /m);
      expect(log).toMatch(/dashboard user admin: replay to crm as new: .*webhook-id msg_\S+_r1/);
    });
  });

  it("lists a refused callback (401) without its token", async () => {
    const guess = "guessed-token-6543210";
    expect(await stack.send(chineseMessage("m-refused", chatId, guess))).toBe(401);
    await eventually(async () => {
      await page.goto(`${stack.dashboard.url}/refused?reason=401`);
      const table = await page.locator("table.refused").innerText({ timeout: 1_000 });
      expect(table).toContain("invalid token");
      expect(table).toContain("m-refused");
      expect(table).toContain("/notice");
    });
    expect(await page.content()).not.toContain(guess);
    expect(await page.content()).not.toContain(CALLBACK_TOKEN);
  });

  it("read-only mode hides every button and answers 405 to a POST", async () => {
    const readOnly = await stack.readOnlyDashboard();
    await page.goto(`${readOnly.url}/events/${eventId}`);
    expect(await page.locator("section.destination").count()).toBe(2);
    expect(await page.locator("button").count()).toBe(0);
    const post = await fetch(`${readOnly.url}/api/events/${eventId}/replay`, {
      method: "POST",
      headers: { ...basic, "x-relay-request": "1", "content-type": "application/json" },
      body: "{}",
    });
    expect(post.status).toBe(405);
  });

  it("answers 401 without credentials, and refuses a cross-origin or header-less POST with 403", async () => {
    for (const path of ["/events", `/events/${eventId}`, "/refused", "/api/events", `/api/events/${eventId}`]) {
      expect((await fetch(`${stack.dashboard.url}${path}`)).status).toBe(401);
    }
    const replay = (headers: Record<string, string>) =>
      fetch(`${stack.dashboard.url}/api/events/${eventId}/replay`, {
        method: "POST",
        headers: { ...basic, "content-type": "application/json", ...headers },
        body: "{}",
      });
    expect((await replay({ "x-relay-request": "1", origin: "https://evil.example" })).status).toBe(403);
    expect((await replay({})).status).toBe(403);
  });

  it("says when the event is unknown: 404 from the API and the page", async () => {
    const api = await fetch(`${stack.dashboard.url}/api/events/msg_never-sent`, { headers: basic });
    expect(api.status).toBe(404);
    expect(((await api.json()) as { reason: string }).reason).toBe("unknown");
  });
});
