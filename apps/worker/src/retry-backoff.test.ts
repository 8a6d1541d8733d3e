import { describe, expect, it } from "vitest";
import { parseRetryAfter, RetryableDeliveryError } from "./delivery-errors.ts";
import { relayBackoff } from "./retry-backoff.ts";

describe("relayBackoff", () => {
  it("doubles from the base, with jitter in the upper half, up to the cap", () => {
    const low = relayBackoff({ baseMs: 1000, maxMs: 10_000 }, () => 0);
    const high = relayBackoff({ baseMs: 1000, maxMs: 10_000 }, () => 1);
    expect([1, 2, 3, 4, 5, 9].map((n) => low(n))).toEqual([500, 1000, 2000, 4000, 5000, 5000]);
    expect([1, 2, 3, 4, 5, 9].map((n) => high(n))).toEqual([1000, 2000, 4000, 8000, 10_000, 10_000]);
  });

  it("honours Retry-After, capped", () => {
    const backoff = relayBackoff({ baseMs: 1000, maxMs: 60_000 });
    expect(backoff(1, "relay", new RetryableDeliveryError("429", 7_000))).toBe(7_000);
    expect(backoff(1, "relay", new RetryableDeliveryError("429", 3_600_000))).toBe(60_000);
  });
});

describe("parseRetryAfter", () => {
  it("reads seconds and HTTP dates", () => {
    expect(parseRetryAfter("3")).toBe(3000);
    expect(parseRetryAfter("Sat, 21 Nov 2026 12:00:10 GMT", Date.parse("2026-11-21T12:00:00Z"))).toBe(10_000);
    expect(parseRetryAfter("soon")).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });
});
