import { describe, expect, it } from "vitest";
import { interpretAnswer, platformBody, withoutKey } from "./platform-client.ts";

describe("the platform client", () => {
  it("builds the platform's body: 0 text, 1 image, 3 file", () => {
    expect(platformBody("c", { type: "text", text: "hi" })).toEqual({
      chatId: "c",
      messageType: 0,
      payload: { text: "hi" },
    });
    expect(platformBody("c", { type: "image", url: "https://x/i.png" })).toEqual({
      chatId: "c",
      messageType: 1,
      payload: { url: "https://x/i.png" },
    });
    expect(platformBody("c", { type: "file", url: "https://x/f.pdf", name: "f.pdf" }).payload).toEqual({
      url: "https://x/f.pdf",
      name: "f.pdf",
    });
  });

  it.each([
    [200, { code: 0 }, null, "sent"],
    [200, { errcode: 0, data: {} }, null, "sent"],
    [200, null, null, "sent"],
    [200, { code: 40001, message: "chat not found" }, null, "refused"],
    [429, "Too Many Requests", null, "rate_limited"],
    [402, { code: 402, message: "API请求次数不足" }, null, "quota_exhausted"],
    [500, null, null, "retry"],
    [503, "busy", "2", "retry"],
    [400, { message: "bad" }, null, "refused"],
    [404, null, null, "refused"],
  ] as const)("%s %j: %s", (status, body, retryAfter, kind) => {
    expect(interpretAnswer(status, body, retryAfter).kind).toBe(kind);
  });

  it("holds the key for Retry-After, or 30 s without one", () => {
    expect(interpretAnswer(429, "slow down", "7")).toMatchObject({ retryAfterMs: 7_000 });
    expect(interpretAnswer(429, "slow down", null)).toMatchObject({ retryAfterMs: 30_000 });
  });

  it("strips the key from anything that prints a URL", () => {
    const key = "k-0123456789abcdef";
    expect(withoutKey(`POST http://p/v1/x?apiKey=${key}&a=1 failed`, key)).toBe(
      "POST http://p/v1/x?apiKey=***&a=1 failed",
    );
    expect(withoutKey(`echo ${key}`, key)).toBe("echo ***");
  });
});
