import type { Destination, DestinationFilter } from "@yuju-relay/config";
import { normalizeCallback, type RelayEvent } from "@yuju-relay/protocol";
import { memberLeftCallback, messageCallback, type MessageShape } from "@yuju-relay/testing";
import { describe, expect, it } from "vitest";
import { matchesFilter, wantsEvent, whyNotWanted } from "./destination-filter.ts";

function event(kind: "message" | "room_members", raw: string): RelayEvent {
  const normalized = normalizeCallback(kind, JSON.parse(raw));
  if (!normalized.ok) throw new Error(normalized.reason);
  return normalized.event;
}
const message = (shape: MessageShape = {}) => event("message", messageCallback("m-1", shape));
const roomLeft = event("room_members", memberLeftCallback("room-1", "member-1"));

const destination = (over: Partial<Destination>): Destination => ({
  name: "d",
  url: "http://127.0.0.1/",
  secret: "",
  events: null,
  filter: null,
  timeoutMs: 1,
  attempts: 1,
  retry: { baseDelayMs: 1, maxDelayMs: 1 },
  rateLimit: null,
  enabled: true,
  ...over,
});

describe("filters", () => {
  it.each<[string, DestinationFilter, RelayEvent, boolean]>([
    ["kind in the list", { kinds: ["text", "image"] }, message(), true],
    ["kind not in the list", { kinds: ["image"] }, message(), false],
    ["isSelf false, from a customer", { isSelf: false }, message(), true],
    ["isSelf false, the account's own", { isSelf: false }, message({ isSelf: true }), false],
    ["isGroup true in a room", { isGroup: true }, message({ roomId: "room-1" }), true],
    ["mentionSelf true, not mentioned", { mentionSelf: true }, message(), false],
    ["chatIds", { chatIds: ["chat-9", "chat-1"] }, message(), true],
    ["roomIds, private chat", { roomIds: ["room-1"] }, message(), false],
    ["roomIds, that room", { roomIds: ["room-1"] }, message({ roomId: "room-1" }), true],
    ["botIds", { botIds: ["bot-1"] }, message(), true],
    ["sources", { sources: [1] }, message({ source: 0 }), false],
    ["origin contact, a customer's", { origin: ["contact"] }, message(), true],
    ["origin contact, the relay's own API send", { origin: ["contact"] }, message({ isSelf: true, source: 6 }), false],
    ["origin contact, an auto-reply", { origin: ["contact"] }, message({ isSelf: true, source: 3 }), false],
    ["origin api", { origin: ["api", "automation"] }, message({ isSelf: true, source: 6 }), true],
    ["room event, origin: no such field", { origin: ["contact"] }, roomLeft, false],
    ["textMatches", { textMatches: /退款/ }, message({ text: "我要退款" }), true],
    ["textMatches on an image", { textMatches: /.*/ }, message({ type: 6 }), false],
    ["every condition must hold", { kinds: ["text"], isSelf: false }, message({ isSelf: true }), false],
    ["room event, kinds: no such field", { kinds: ["text"] }, roomLeft, false],
    ["room event, isSelf: no such field", { isSelf: false }, roomLeft, false],
    ["room event, textMatches: no such field", { textMatches: /.*/ }, roomLeft, false],
    ["room event, roomIds", { roomIds: ["room-1"] }, roomLeft, true],
    ["room event, chatIds", { chatIds: ["chat-of-room-1"] }, roomLeft, true],
    ["room event, botIds", { botIds: ["bot-1"] }, roomLeft, true],
  ])("%s", (_, filter, relayEvent, expected) => expect(matchesFilter(filter, relayEvent)).toBe(expected));

  it("takes a destination's events list, filter and enabled flag together", () => {
    expect(wantsEvent(destination({}), roomLeft)).toBe(true);
    expect(wantsEvent(destination({ events: ["message.received"] }), roomLeft)).toBe(false);
    expect(wantsEvent(destination({ enabled: false }), message())).toBe(false);
    expect(wantsEvent(destination({ filter: { isGroup: false } }), message())).toBe(true);
  });
});

describe("whyNotWanted", () => {
  it("names the condition that excluded the event", () => {
    expect(whyNotWanted(destination({ events: ["message.received"] }), roomLeft)).toBe(
      "events: room.members_left not in [message.received]",
    );
    expect(whyNotWanted(destination({ filter: { kinds: ["text"] } }), message({ type: 6 }))).toBe(
      "filter.kinds: image not in [text]",
    );
    expect(whyNotWanted(destination({ filter: { isGroup: true } }), message())).toBe("filter.isGroup: false, not true");
    expect(whyNotWanted(destination({ enabled: false }), message())).toBe("disabled");
    expect(whyNotWanted(destination({ filter: { kinds: ["text"] } }), message())).toBeNull();
  });
});
