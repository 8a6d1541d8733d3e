import { loadFixtures, loadSeedExamples } from "@yuju-relay/testing";
import { describe, expect, it } from "vitest";
import { classifyCallback, normalizeCallback, removeCallbackToken, type RelayEvent } from "./index.ts";

const TOKEN = "3f9c2a7e51d84b0c9e6a1f2d7b4c8e05";

function normalizeOk(body: unknown): RelayEvent {
  const outcome = normalizeCallback(classifyCallback(body), body);
  if (!outcome.ok) throw new Error(outcome.reason);
  return outcome.event;
}

describe("every fixture in packages/protocol/fixtures", () => {
  const fixtures = loadFixtures();

  it("exists: the repository holds its own copies", () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(29);
  });

  it.each(fixtures.map((f) => [f.name, f] as const))("%s normalizes, without the token", (name, fixture) => {
    const event = normalizeOk(structuredClone(fixture.body));
    expect(JSON.stringify(event)).not.toContain(TOKEN);
    if (name.startsWith("msg_")) {
      const data = (fixture.body as { data: Record<string, unknown> }).data;
      expect(event.type).toBe("message.received");
      if (event.type !== "message.received") return;
      expect(event.id).toBe(`msg_${String(data.messageId)}`);
      expect(event.data.messageType).toBe(data.type);
      expect(event.data.isGroup).toBe(data.roomId !== "");
      expect(event.data.sentAt).toBe(new Date(Number(data.timestamp)).toISOString());
      expect(event.data.payload).toEqual(data.payload);
    } else {
      expect(event.type).toBe(name.startsWith("leave_") ? "room.members_left" : "room.members_joined");
    }
  });

  it("strips the token from the stored body", () => {
    for (const fixture of fixtures) {
      const body = structuredClone(fixture.body);
      removeCallbackToken(body);
      expect(JSON.stringify(body)).not.toContain(TOKEN);
    }
  });
});

describe("fixture specifics", () => {
  const byName = new Map(loadFixtures().map((f) => [f.name, f.body]));
  const event = (name: string) => normalizeOk(structuredClone(byName.get(name)));

  it("reads text from payload.text and falls back to payload.content", () => {
    const fromText = event("msg_01_text_private_customer");
    const fromContent = event("msg_27_text_doc_literal_content_key_and_tab_key");
    expect(fromText.type === "message.received" && fromText.data.text).toBeTruthy();
    expect(fromContent.type === "message.received" && fromContent.data.text).toBe("在吗？想咨询一下续费");
  });

  it("names kinds by the platform's numbering, unknown for type 0", () => {
    const kinds = Object.fromEntries(
      [...byName.keys()]
        .filter((n) => n.startsWith("msg_"))
        .map((n) => {
          const e = event(n);
          return [n, e.type === "message.received" ? e.data.kind : null];
        }),
    );
    expect(kinds).toMatchObject({
      msg_07_image_private: "image",
      msg_13_location_private: "location",
      msg_16_recalled_group: "recalled",
      msg_18_video_private: "video",
      msg_23_system_group: "system",
      msg_24_wecom_system_private: "wecom_system",
      msg_25_unknown_type0: "unknown",
    });
    expect(Object.values(kinds).filter((k) => k === "text").length).toBe(8);
  });

  it("gives text only to text messages", () => {
    const image = event("msg_07_image_private");
    expect(image.type === "message.received" && image.data.text).toBeNull();
  });

  it("builds the group's room, and none for private chats", () => {
    const group = event("msg_04_text_group_quote_no_mention");
    const direct = event("msg_01_text_private_customer");
    if (group.type !== "message.received" || direct.type !== "message.received") throw new Error("kind");
    expect(group.data.room).toEqual({
      id: "10696052718820451",
      topic: "语聚AI·3月新品体验群",
      wecomChatId: "wrOgQhDgAAbC1dE2fG3hI4jK5lM6nO7pQ",
      avatarUrl: "https://p.qlogo.cn/gh/invented_room_avatar/0",
    });
    expect(direct.data.room).toBeNull();
    expect(direct.data.isGroup).toBe(false);
  });

  it("marks the account's own API sends as isSelf", () => {
    const own = event("msg_05_text_self_sent_via_api");
    expect(own.type === "message.received" && [own.data.isSelf, own.data.source]).toEqual([true, 6]);
  });

  it("tells a contact's message from the account's own API send (origin)", () => {
    const own = event("msg_05_text_self_sent_via_api");
    const customer = event("msg_01_text_private_customer");
    expect(own.type === "message.received" && [own.data.origin, own.data.relaySendId]).toEqual(["api", null]);
    expect(customer.type === "message.received" && customer.data.origin).toBe("contact");
  });

  it("lists every member who left, with the hosted account flagged", () => {
    const many = event("leave_02_multiple_members");
    const self = event("leave_03_bot_itself_left");
    if (many.type !== "room.members_left" || self.type !== "room.members_left") throw new Error("kind");
    expect(many.data.members.map((m) => [m.id, m.coworker])).toEqual([
      ["7881300555512345", false],
      ["7881300222211110", false],
      ["1688857099887766", true],
    ]);
    expect(many.data.members[2]?.alias).toBe("孙经理(销售)");
    expect(many.data.room).toMatchObject({ id: "10696052718820451", chatId: "65f1d0b7e4b0d7a3c1f2aa01" });
    expect(many.data.bot).toEqual({
      id: null,
      wxid: "1688857012345678",
      weixin: "LiuXiaoyu",
      name: "刘小雨｜语聚客服",
    });
    expect(self.data.members.some((m) => m.isSelf)).toBe(true);
  });
});

describe("the seeds' own literal examples", () => {
  const seeds = loadSeedExamples();

  it("are two: the message callback (GET /notice) and the member-leave callback (POST /room/joined)", () => {
    expect(seeds.map((s) => [s.name, s.method, s.path])).toEqual([
      ["message", "GET", "/notice"],
      ["member-leave", "POST", "/room/joined"],
    ]);
  });

  it("normalize: placeholders are kept, the tab-suffixed key is read, no time is invented", () => {
    const [message, leave] = seeds.map((s) => normalizeOk(JSON.parse(s.raw)));
    if (message?.type !== "message.received" || leave?.type !== "room.members_left") throw new Error("kind");
    expect(message.data).toMatchObject({
      messageId: "string",
      kind: "unknown",
      text: null,
      isGroup: true,
      sentAt: null,
      rawTimestamp: "string",
      room: { id: "string", wecomChatId: "string" },
      payload: { content: "string" },
    });
    expect(leave.data).toMatchObject({ occurredAt: null, members: [{ id: "string", isFriend: true, contactType: 0 }] });
  });
});
