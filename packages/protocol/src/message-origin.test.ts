import { describe, expect, it } from "vitest";
import { messageOriginOf } from "./message-origin.ts";

describe("messageOriginOf", () => {
  it.each([
    [0, false, "contact"],
    [1, false, "contact"],
    [0, true, "hosted_account"],
    [1, true, "hosted_account"],
    [6, true, "api"],
    [6, false, "api"],
    [2, true, "automation"],
    [3, true, "automation"],
    [5, false, "automation"],
    [7, true, "automation"],
    [15, true, "automation"],
    [16, false, "unknown"],
    [-1, false, "unknown"],
    [null, false, "unknown"],
  ] as const)("source %s, isSelf %s: %s", (source, isSelf, origin) => {
    expect(messageOriginOf(source, isSelf)).toBe(origin);
  });
});
