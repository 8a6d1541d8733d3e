import { loadFixtures } from "@yuju-relay/testing";
import { describe, expect, it } from "vitest";
import { callbackLabel, classifyCallback } from "./index.ts";

describe("callbackLabel (how Bull Board lists a job)", () => {
  it("is the message id of a message", () => {
    expect(callbackLabel("message", { data: { messageId: "m-1", token: "secret" } })).toBe("m-1");
    expect(callbackLabel("message", { data: { messageId: 12345 } })).toBe("12345");
  });

  it("is the direction and room id of a member change", () => {
    const fixtures = loadFixtures();
    const leave = fixtures.find((f) => f.name === "leave_01_single_member")!.body;
    const join = fixtures.find((f) => f.name === "assumed/join_01_ASSUMED_single_member")!.body;
    expect(callbackLabel(classifyCallback(leave), leave)).toBe("left 10696052718820451");
    expect(callbackLabel(classifyCallback(join), join)).toBe("joined 10696052718820451");
    expect(callbackLabel("room_members", { leftMembers: [], chatId: "c-9" })).toBe("left c-9");
  });

  it("is null when the body does not say, and bounded and printable when it says too much", () => {
    expect(callbackLabel("message", { data: {} })).toBeNull();
    expect(callbackLabel("message", { data: { messageId: { nested: true } } })).toBeNull();
    expect(callbackLabel("unclassified", { messageId: "m-1" })).toBeNull();
    expect(callbackLabel("message", "text")).toBeNull();
    expect(callbackLabel("message", { data: { messageId: "a\nb\u0000c" } })).toBe("a b c");
    expect(callbackLabel("message", { data: { messageId: "x".repeat(500) } })).toBe(`${"x".repeat(64)}…`);
  });
});
