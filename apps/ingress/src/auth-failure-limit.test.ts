import { describe, expect, it } from "vitest";
import { AuthFailureLimit } from "./auth-failure-limit.ts";
import { OnceAMinute } from "./once-a-minute.ts";

// A clock the test moves: what these classes do depends on the minute only.
const clock = (start: number) => {
  const state = { now: start };
  return { state, now: () => state.now };
};
const MINUTE = 60_000;

describe("AuthFailureLimit", () => {
  it("refuses an address from its limit-th 401 until the end of the next minute, and only that address", () => {
    const { state, now } = clock(10 * MINUTE + 15_000);
    const limit = new AuthFailureLimit(3, 100, now);
    expect([1, 2, 3].map(() => limit.recordFailure("198.51.100.7"))).toEqual([false, false, true]);
    expect(limit.retryAfterSeconds("198.51.100.7")).toBe(105); // 45 s of this minute + the next
    expect(limit.retryAfterSeconds("203.0.113.9")).toBe(0);
    state.now = 11 * MINUTE + 59_500; // the next minute: still refused
    expect(limit.retryAfterSeconds("198.51.100.7")).toBe(1);
    state.now = 12 * MINUTE; // the one after: lifted, and counting starts again
    expect(limit.retryAfterSeconds("198.51.100.7")).toBe(0);
    expect(limit.recordFailure("198.51.100.7")).toBe(false);
  });

  it("counts per minute: failures spread over minutes below the limit never block", () => {
    const { state, now } = clock(0);
    const limit = new AuthFailureLimit(3, 100, now);
    for (let minute = 0; minute < 5; minute++) {
      state.now = minute * MINUTE;
      limit.recordFailure("a");
      limit.recordFailure("a");
      expect(limit.retryAfterSeconds("a")).toBe(0);
    }
  });

  it("tracks at most maxAddresses at once", () => {
    const limit = new AuthFailureLimit(1, 2, () => 0);
    expect(limit.recordFailure("a")).toBe(true);
    expect(limit.recordFailure("b")).toBe(true);
    expect(limit.recordFailure("c")).toBe(false);
  });
});

describe("OnceAMinute", () => {
  it("says yes once per key per 60 s, bounded in keys", () => {
    const { state, now } = clock(0);
    const once = new OnceAMinute(2, now);
    expect([once.first("a"), once.first("a"), once.first("b"), once.first("c")]).toEqual([true, false, true, false]);
    state.now = 59_999;
    expect(once.first("a")).toBe(false);
    state.now = 60_000;
    expect([once.first("a"), once.first("c")]).toEqual([true, true]);
  });
});
