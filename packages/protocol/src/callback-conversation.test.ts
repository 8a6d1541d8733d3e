import { describe, expect, it } from "vitest";
import { classifyCallback, normalizeCallback } from "./callback.ts";
import { callbackConversation } from "./callback-conversation.ts";
import { loadFixtures } from "@yuju-relay/testing";

describe("callbackConversation", () => {
  it("names the chat of a message and the room of a member change, as the normalized event does", () => {
    let compared = 0;
    for (const fixture of loadFixtures()) {
      const kind = classifyCallback(fixture.body);
      const normalized = normalizeCallback(kind, fixture.body);
      if (!normalized.ok) continue;
      const event = normalized.event;
      const expected =
        event.type === "message.received"
          ? (event.data.chatId ?? event.data.room?.id ?? null)
          : event.type === "contact.friend_accepted"
            ? null
            : event.data.room.id;
      expect(callbackConversation(kind, fixture.body), fixture.name).toBe(expected);
      compared++;
    }
    expect(compared).toBeGreaterThan(5);
  });

  it("answers null, never throws, for a body without one", () => {
    expect(callbackConversation("message", null)).toBeNull();
    expect(callbackConversation("message", { data: { chatId: {} } })).toBeNull();
    expect(callbackConversation("room_members", "text")).toBeNull();
    expect(callbackConversation("unclassified", { chatId: "c" })).toBeNull();
    expect(callbackConversation("message", { data: { chatId: 42 } })).toBe("42");
  });
});
