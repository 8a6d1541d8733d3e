import { describe, expect, it } from "vitest";
import { withDeadline } from "./deadline.ts";

const never = new Promise<string>(() => {});

describe("withDeadline", () => {
  it("gives the work's value when it settles first", async () => {
    expect(await withDeadline(Promise.resolve("done"), 10_000, () => "timeout" as const)).toBe("done");
    await expect(withDeadline(Promise.reject(new Error("broke")), 10_000, () => "timeout")).rejects.toThrow("broke");
  });

  it("gives what onTimeout returns, or rejects with what it throws, once the deadline passes", async () => {
    expect(await withDeadline(never, 5, () => "timeout" as const)).toBe("timeout");
    await expect(
      withDeadline(never, 5, () => {
        throw new Error("took too long");
      }),
    ).rejects.toThrow("took too long");
  });
});
