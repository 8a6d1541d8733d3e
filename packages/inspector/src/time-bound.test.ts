import { describe, expect, it } from "vitest";
import { parseTimeBound } from "./time-bound.ts";

describe("parseTimeBound: since and until as people and scripts write them", () => {
  const now = Date.parse("2026-12-03T12:00:00Z");
  it("takes a duration back from now, epoch milliseconds and ISO 8601", () => {
    expect(parseTimeBound("2h", now)).toBe(now - 7_200_000);
    expect(parseTimeBound("1764763200000", now)).toBe(1_764_763_200_000);
    expect(parseTimeBound("2026-12-03T10:00:00Z", now)).toBe(Date.parse("2026-12-03T10:00:00Z"));
  });
  it("says null for anything else", () => {
    expect(parseTimeBound("yesterday-ish", now)).toBeNull();
  });
});
