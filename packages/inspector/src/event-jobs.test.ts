import { messageEventId } from "@yuju-relay/protocol";
import { describe, expect, it } from "vitest";
import { candidateEventIds } from "./event-jobs.ts";

describe("candidateEventIds: what a typed id may stand for", () => {
  it("a messageId is its message's event id, derived when it is not a plain header value", () => {
    expect(candidateEventIds("m-1")).toEqual(["msg_m-1"]);
    expect(candidateEventIds("消息 1")).toEqual([messageEventId("消息 1")]);
    expect(candidateEventIds("消息 1")[0]).toMatch(/^msg_~/);
  });

  it("an event id as sent in webhook-id is itself, and msg_… may also be a messageId", () => {
    expect(candidateEventIds("room_left_abc")).toEqual(["room_left_abc"]);
    expect(candidateEventIds("msg_m-1")).toEqual(["msg_m-1", "msg_msg_m-1"]);
  });
});
