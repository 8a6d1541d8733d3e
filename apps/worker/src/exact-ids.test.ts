import { parseEnv } from "@yuju-relay/config";
import { ingressEnv, startIngress, type RunningIngress } from "@yuju-relay/ingress";
import { createLogger } from "@yuju-relay/logging";
import { eventually, sendCallback, startReceiver, uniquePrefix, type Receiver } from "@yuju-relay/testing";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { workerEnv } from "./config.ts";
import { startWorker, type RunningWorker } from "./worker.ts";
import { TEST_SIGNING_SECRET as SECRET } from "@yuju-relay/testing";

describe("ids and keys arrive exactly as sent (ingress → Redis → worker → endpoint)", () => {
  let receiver: Receiver;
  let ingress: RunningIngress;
  let worker: RunningWorker;
  const silent = createLogger("test", "silent");
  const delivered = (id: string) => receiver.deliveries.find((d) => d.headers["webhook-id"] === id);

  beforeAll(async () => {
    receiver = await startReceiver();
    const prefix = uniquePrefix("exact");
    ingress = await startIngress(
      parseEnv(ingressEnv, { REDIS_URL: inject("redisUrl"), QUEUE_PREFIX: prefix, PORT: "0", HOST: "127.0.0.1" }),
      silent,
    );
    worker = await startWorker(
      parseEnv(workerEnv, {
        REDIS_URL: inject("redisUrl"),
        QUEUE_PREFIX: prefix,
        FORWARD_URL: receiver.url,
        FORWARD_SECRET: SECRET,
      }),
      silent,
    );
  });
  afterAll(async () => {
    await ingress.close();
    await worker.close();
    await receiver.close();
  });

  it("keeps every digit of ids sent as JSON numbers beyond 2^53: two messages stay two, the room id stays itself", async () => {
    for (const body of [
      '{"data":{"messageId":9007199254740993,"type":7,"roomId":10696052718820451,"payload":{"text":"a"}}}',
      '{"data":{"messageId":9007199254740992,"type":7,"payload":{"text":"b"}}}',
      '{"imRoomId":10696052718820451,"leftMember":[{"imContactId":7881300555512345678}],"timestamp":1742261285000}',
    ]) {
      expect((await sendCallback(`${ingress.url}/notice`, body)).status).toBe(200);
    }
    await eventually(() => expect(receiver.deliveries).toHaveLength(3));
    expect(delivered("msg_9007199254740993")?.body.data).toMatchObject({
      messageId: "9007199254740993",
      room: { id: "10696052718820451" },
    });
    expect(delivered("msg_9007199254740992")?.body.data).toMatchObject({ messageId: "9007199254740992" });
    const left = receiver.deliveries.find((d) => d.body.type === "room.members_left");
    expect(left?.body.data).toMatchObject({
      room: { id: "10696052718820451" },
      members: [{ id: "7881300555512345678" }],
    });
  });

  it("delivers a body nested as deep as the ingress accepts (64 levels), and refuses one level more", async () => {
    // {"data":{"payload":[[…]]}}: two objects, then arrays.
    const nested = (depth: number, id: string) =>
      `{"data":{"messageId":"${id}","type":7,"payload":{"deep":${"[".repeat(depth - 3)}${"]".repeat(depth - 3)}}}}`;
    expect((await sendCallback(`${ingress.url}/notice`, nested(64, "deep-64"))).status).toBe(200);
    expect((await sendCallback(`${ingress.url}/notice`, nested(65, "deep-65"))).status).toBe(422);
    const delivery = await eventually(() => {
      const found = delivered("msg_deep-64");
      expect(found).toBeDefined();
      return found!;
    });
    expect(/"deep":(\[*)/.exec(delivery.raw)?.[1]).toHaveLength(64 - 3);
  });

  it("delivers a __proto__ key inside payload as data, and no key pollutes a prototype", async () => {
    const body =
      '{"__proto__":{"pollutedTop":1},"data":{"messageId":"proto-1","type":7,"__proto__":{"pollutedData":1},' +
      '"payload":{"text":"hi","__proto__":{"isAdmin":true},"constructor":{"prototype":{"pollutedCtor":1}},"big":12345678901234567890}}}';
    expect((await sendCallback(`${ingress.url}/notice`, body)).status).toBe(200);
    const delivery = await eventually(() => {
      const found = delivered("msg_proto-1");
      expect(found).toBeDefined();
      return found!;
    });
    const payload = (delivery.body.data as unknown as { payload: Record<string, unknown> }).payload;
    expect(Object.hasOwn(payload, "__proto__")).toBe(true);
    expect(payload.__proto__).toEqual({ isAdmin: true });
    expect(payload.constructor).toEqual({ prototype: { pollutedCtor: 1 } });
    expect(payload.big).toBe("12345678901234567890");
    const clean = {} as Record<string, unknown>;
    for (const key of ["pollutedTop", "pollutedData", "isAdmin", "pollutedCtor"]) expect(clean[key]).toBeUndefined();
  });
});
