import { describe, expect, it } from "vitest";
import { callbackToken, classifyCallback, normalizeCallback, removeCallbackToken, type RelayEvent } from "./index.ts";

const message = (data: Record<string, unknown>) => ({
  data: { messageId: "m1", type: 7, payload: { text: "hi" }, ...data },
});
const room = (extra: Record<string, unknown>) => ({ imRoomId: "r1", timestamp: "1742261285000", ...extra });
const member = (id: string) => ({ imContactId: id, nickName: `n${id}` });

function ok(body: unknown): RelayEvent {
  const outcome = normalizeCallback(classifyCallback(body), body);
  if (!outcome.ok) throw new Error(outcome.reason);
  return outcome.event;
}
function reason(body: unknown): string {
  const outcome = normalizeCallback(classifyCallback(body), body);
  if (outcome.ok) throw new Error(`expected a rejection, got ${outcome.event.type}`);
  return outcome.reason;
}

describe("classifyCallback", () => {
  it("tells kinds by shape, not by path", () => {
    expect(classifyCallback(message({}))).toBe("message");
    expect(classifyCallback(room({ leftMembers: [] }))).toBe("room_members");
    expect(classifyCallback(room({ joinedMember: [] }))).toBe("room_members");
    expect(classifyCallback({ hello: 1 })).toBe("unclassified");
    expect(classifyCallback([1, 2])).toBe("unclassified");
    expect(classifyCallback("text")).toBe("unclassified");
  });
});

describe("message tolerance", () => {
  it.each([
    ["empty strings", { roomId: "", roomTopic: "", roomWecomChatId: "" }],
    ["nulls", { roomId: null, roomTopic: null, roomWecomChatId: null }],
    ["absent fields", {}],
  ])("treats room fields given as %s as a private chat", (_label, fields) => {
    const event = ok(message(fields));
    expect(event.type === "message.received" && [event.data.isGroup, event.data.room]).toEqual([false, null]);
  });

  it.each([
    ["numeric string ms", "1742260865000"],
    ["number ms", 1742260865000],
    ["string seconds", "1742260865"],
    ["number seconds", 1742260865],
  ])("reads the timestamp as %s", (_label, timestamp) => {
    const event = ok(message({ timestamp }));
    expect(event.type === "message.received" && event.data.sentAt).toBe("2025-03-18T01:21:05.000Z");
  });

  it("keeps unknown type, source and contactType values, and extra payload keys", () => {
    const event = ok(
      message({ type: 424242, source: 99, contactType: 17, payload: { novel: { a: 1 } }, brandNewField: true }),
    );
    if (event.type !== "message.received") throw new Error("kind");
    expect(event.data).toMatchObject({
      kind: "unknown",
      messageType: 424242,
      source: 99,
      text: null,
      payload: { novel: { a: 1 } },
    });
    expect(event.data.contact.type).toBe(17);
  });

  it("accepts numeric ids and numeric-string types", () => {
    const event = ok(message({ messageId: 12345, type: "7", roomId: 1069605271882 }));
    expect(event.type === "message.received" && [event.data.messageId, event.data.kind, event.data.isGroup]).toEqual([
      "12345",
      "text",
      true,
    ]);
  });

  it("reads boolean strings, numeric-string enums and blank ids as the event's own types", () => {
    const event = ok(
      message({
        isSelf: "true",
        mentionSelf: "false",
        coworker: null,
        source: "3",
        contactType: "1",
        chatId: " ",
        botId: 9,
      }),
    );
    if (event.type !== "message.received") throw new Error("kind");
    expect(event.data).toMatchObject({ isSelf: true, mentionSelf: false, source: 3, chatId: null });
    expect(event.data.contact).toMatchObject({ coworker: false, type: 1 });
    expect(event.data.bot.id).toBe("9");
  });

  it.each([
    ["a tab", "roomWecomChatId\t"],
    ["a leading space", " roomWecomChatId"],
    ["a no-break space", "roomWecomChatId\u00a0"],
  ])("reads a key spelled with %s as its clean name", (_label, key) => {
    const event = ok(message({ roomId: "r", [key]: "folded" }));
    expect(event.type === "message.received" && event.data.room?.wecomChatId).toBe("folded");
  });

  it("prefers the clean roomWecomChatId key over the tab-suffixed one", () => {
    const event = ok(message({ roomId: "r", roomWecomChatId: "clean", "roomWecomChatId\t": "tab" }));
    expect(event.type === "message.received" && event.data.room?.wecomChatId).toBe("clean");
  });

  it.each([
    ["data is not an object", { data: "x" }, /data: /],
    ["messageId is missing", { data: { type: 7 } }, /data\.messageId/],
    ["messageId is empty", message({ messageId: "" }), /data\.messageId: must not be empty/],
    ["type is not a number", message({ type: "text" }), /data\.type/],
    ["payload is not an object", message({ payload: "hi" }), /data\.payload/],
    ["isSelf is not a boolean", message({ isSelf: "maybe" }), /data\.isSelf/],
  ])("rejects, with a reason, when %s", (_label, body, expected) => {
    expect(reason(body)).toMatch(expected);
  });
});

describe("room member callbacks", () => {
  it("accepts Juzibot's leftMembers and merges both spellings, each member once", () => {
    const event = ok(room({ leftMember: [member("a"), member("b")], leftMembers: [member("b"), member("c")] }));
    if (event.type !== "room.members_left") throw new Error(`got ${event.type}`);
    expect(event.data.members.map((m) => m.id)).toEqual(["a", "b", "c"]);
  });

  it("reads joins from joinedMember or joinedMembers", () => {
    expect(ok(room({ joinedMembers: [member("a")] })).type).toBe("room.members_joined");
    expect(ok(room({ joinedMember: [member("a")] })).type).toBe("room.members_joined");
  });

  it("gives the same change the same id, whatever the member order, and joins and leaves different ids", () => {
    const a = ok(room({ leftMember: [member("a"), member("b")] }));
    const b = ok(room({ leftMember: [member("b"), member("a")] }));
    const c = ok(room({ joinedMember: [member("a"), member("b")] }));
    const d = ok(room({ leftMember: [member("a"), member("b")], timestamp: "1742261285001" }));
    expect(a.id).toBe(b.id);
    expect(new Set([a.id, c.id, d.id]).size).toBe(3);
  });

  it("reads numeric member ids, string booleans and a missing botInfo", () => {
    const event = ok(
      room({ botInfo: null, chatId: "", leftMember: [{ imContactId: 42, isFriend: "false", contactType: "2" }] }),
    );
    if (event.type !== "room.members_left") throw new Error(`got ${event.type}`);
    expect(event.data.members).toEqual([
      {
        id: "42",
        name: null,
        alias: null,
        avatarUrl: null,
        isFriend: false,
        contactType: 2,
        coworker: false,
        isSelf: false,
      },
    ]);
    expect(event.data.bot).toEqual({ id: null, wxid: null, weixin: null, name: null });
    expect(event.data.room.chatId).toBeNull();
  });

  it("falls back to chatId when imRoomId is absent", () => {
    const event = ok({ chatId: "c1", leftMember: [member("a")] });
    expect(event.type === "room.members_left" && event.data.room.id).toBe("c1");
  });

  it.each([
    ["both directions", room({ leftMember: [member("a")], joinedMember: [member("b")] }), /cannot tell/],
    ["no members", room({ leftMember: [] }), /no members/],
    ["no room id", { leftMember: [member("a")] }, /imRoomId/],
    ["a member without id", room({ leftMember: [{ nickName: "x" }] }), /leftMember\.0\.imContactId/],
    ["members not a list", room({ leftMember: "a" }), /leftMember/],
  ])("rejects %s", (_label, body, expected) => {
    expect(reason(body)).toMatch(expected);
  });
});

describe("unknown kinds", () => {
  it("are rejected with the keys they had", () => {
    expect(reason({ event: "friend_added", userId: "u" })).toMatch(/unknown callback kind.*event, userId/);
  });
});

describe("the token", () => {
  it("is read from data for messages and from the top for room events", () => {
    expect(callbackToken(message({ token: "A" }))).toBe("A");
    expect(callbackToken(room({ token: "B" }))).toBe("B");
    expect(callbackToken({ data: { token: 5 } })).toBeNull();
    expect(callbackToken(null)).toBeNull();
  });

  it("is removed wherever it sits, in any spelling", () => {
    const body = { token: "A", "token\t": "B", data: { token: "C", messageId: "m" } };
    removeCallbackToken(body);
    expect(body).toEqual({ data: { messageId: "m" } });
  });
});

describe("keys that name prototypes", () => {
  it("keeps __proto__ and constructor in payload as data, and pollutes nothing", () => {
    const body = JSON.parse(
      '{"data":{"messageId":"p1","type":7,"payload":{"__proto__":{"admin":true},"constructor":{"x":1},"text":"hi"}," __proto__":1}}',
    ) as unknown;
    const event = ok(body);
    if (event.type !== "message.received") throw new Error("kind");
    expect(Object.hasOwn(event.data.payload, "__proto__")).toBe(true);
    expect(Object.getPrototypeOf(event.data.payload)).toBe(Object.prototype);
    expect(JSON.parse(JSON.stringify(event.data.payload))).toEqual(
      JSON.parse('{"__proto__":{"admin":true},"constructor":{"x":1},"text":"hi"}'),
    );
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });
});
