import { describe, expect, it } from "vitest";
import { DestinationHealth } from "./destination-health.ts";

describe("DestinationHealth (the inline circuit breaker)", () => {
  it("opens after consecutive failures, lets one probe through after the cool-down, and closes on its success", () => {
    let now = 0;
    const health = new DestinationHealth(3, 1_000, undefined, () => now);
    for (let i = 0; i < 2; i++) {
      expect(health.tryInline()).toBe(true);
      health.failed();
    }
    expect(health.tryInline()).toBe(true);
    health.succeeded(); // a success resets the count
    for (let i = 0; i < 3; i++) {
      expect(health.tryInline()).toBe(true);
      health.failed();
    }
    expect(health.state).toBe("open");
    expect(health.tryInline()).toBe(false);
    now = 1_000;
    expect(health.state).toBe("half-open");
    expect(health.tryInline()).toBe(true); // the probe
    expect(health.tryInline()).toBe(false); // one at a time
    health.failed();
    expect(health.tryInline()).toBe(false); // open again, for another cool-down
    now = 2_000;
    expect(health.tryInline()).toBe(true);
    health.succeeded();
    expect(health.state).toBe("closed");
    expect(health.tryInline()).toBe(true);
    expect(health.tryInline()).toBe(true);
  });

  it("starts no attempt while `max` attempts are stuck (in flight past afterMs); quick ones are never capped", () => {
    let now = 0;
    const health = new DestinationHealth(3, 1_000, { max: 2, afterMs: 100 }, () => now);
    for (let i = 0; i < 5; i++) expect(health.tryInline()).toBe(true); // none stuck yet
    for (let i = 0; i < 3; i++) health.succeeded();
    now = 100; // the two left are stuck now
    expect(health.tryInline()).toBe(false);
    health.failed();
    expect(health.tryInline()).toBe(true); // one stuck, one new
  });

  it("frees the probe's slot on an answer that says nothing of health", () => {
    let now = 0;
    const health = new DestinationHealth(1, 100, undefined, () => now);
    health.tryInline();
    health.failed();
    now = 100;
    expect(health.tryInline()).toBe(true);
    health.neutral();
    expect(health.tryInline()).toBe(true);
  });
});
