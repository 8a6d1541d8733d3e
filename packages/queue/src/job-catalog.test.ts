import { describe, expect, it } from "vitest";
import { deliveryJobId, deliveryQueueName } from "./delivery-queues.ts";
import { answerPolicy, callbackJobOptions, deliveryJob, relayBackoff } from "./job-catalog.ts";

describe("relayBackoff", () => {
  it("doubles from the base, with jitter in the upper half, up to the cap", () => {
    const low = relayBackoff({ baseDelayMs: 1000, maxDelayMs: 10_000 }, () => 0);
    const high = relayBackoff({ baseDelayMs: 1000, maxDelayMs: 10_000 }, () => 1);
    expect([1, 2, 3, 4, 5, 9].map((n) => low(n))).toEqual([500, 1000, 2000, 4000, 5000, 5000]);
    expect([1, 2, 3, 4, 5, 9].map((n) => high(n))).toEqual([1000, 2000, 4000, 8000, 10_000, 10_000]);
  });

  it("honours a Retry-After carried by the error, capped", () => {
    const backoff = relayBackoff({ baseDelayMs: 1000, maxDelayMs: 60_000 });
    const after = (ms: number) => Object.assign(new Error("503"), { retryAfterMs: ms });
    expect(backoff(1, "relay", after(7_000))).toBe(7_000);
    expect(backoff(1, "relay", after(3_600_000))).toBe(60_000);
  });
});

describe("answerPolicy: what an endpoint's status means for its delivery", () => {
  it.each([
    [200, "delivered"],
    [204, "delivered"],
    [429, "rate_limited"],
    [408, "retry"],
    [500, "retry"],
    [503, "retry"],
    [410, "gone"],
    [400, "refused"],
    [401, "refused"],
    [302, "refused"],
  ])("%i: %s", (status, policy) => expect(answerPolicy(status)).toBe(policy));
});

describe("job options", () => {
  it("retries callback jobs of known kinds, never an unclassified body", () => {
    expect(callbackJobOptions("message")).toEqual({ attempts: 15, backoff: { type: "relay" } });
    expect(callbackJobOptions("unclassified")).toEqual({ attempts: 1 });
  });

  it("identifies a delivery job by its event, with the destination's attempts", () => {
    const event = { id: "msg_m-1", type: "message.received" } as never;
    const job = deliveryJob(
      { destination: "crm", event, receivedAt: "", callbackJobId: "7", messageId: "m-1" },
      { attempts: 5, retry: { baseDelayMs: 1, maxDelayMs: 2 } },
    );
    expect(job.name).toBe("message.received msg_m-1");
    expect(job.opts).toEqual({ jobId: "msg_m-1", attempts: 5, backoff: { type: "relay" } });
  });
});

describe("delivery queue and job names", () => {
  it("names a destination's queue without ':'", () => {
    expect(deliveryQueueName("crm")).toBe("deliveries.crm");
  });

  it("keeps a safe event id as the job id, and hashes one BullMQ cannot take, the same way every time", () => {
    expect(deliveryJobId("msg_m-1")).toBe("msg_m-1");
    const odd = deliveryJobId("msg_a:b c");
    expect(odd).toMatch(/^sha256-[0-9a-f]{40}$/);
    expect(deliveryJobId("msg_a:b c")).toBe(odd);
    expect(deliveryJobId("12345")).toMatch(/^sha256-/); // all digits: BullMQ's own ids
    expect(deliveryJobId("x".repeat(300))).toMatch(/^sha256-/);
  });
});
