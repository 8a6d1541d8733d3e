import { describe, expect, it } from "vitest";
import { parsePlatformTimestamp } from "./timestamps.ts";

describe("parsePlatformTimestamp", () => {
  it.each([
    ["1732170000000", "2024-11-21T06:20:00.000Z"],
    [1732170000000, "2024-11-21T06:20:00.000Z"],
    ["1732170000", "2024-11-21T06:20:00.000Z"],
    [1732170000, "2024-11-21T06:20:00.000Z"],
    ["2024-11-21T06:20:00Z", "2024-11-21T06:20:00.000Z"],
  ])("reads %j as a time", (input, expected) => {
    expect(parsePlatformTimestamp(input)).toBe(expected);
  });

  it.each([["string"], [""], ["-5"], [0], [null], ["12abc"]])("yields no time for %j", (input) => {
    expect(parsePlatformTimestamp(input)).toBeNull();
  });
});
