import { describe, expect, it } from "vitest";
import { parseRetryAfter } from "./delivery-errors.ts";

describe("parseRetryAfter", () => {
  it("reads seconds and HTTP dates", () => {
    expect(parseRetryAfter("3")).toBe(3000);
    expect(parseRetryAfter("Sat, 21 Nov 2026 12:00:10 GMT", Date.parse("2026-11-21T12:00:00Z"))).toBe(10_000);
    expect(parseRetryAfter("soon")).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });
});
