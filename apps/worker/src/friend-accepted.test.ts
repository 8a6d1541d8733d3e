import { parseEnv } from "@yuju-relay/config";
import { ingressEnv, startIngress } from "@yuju-relay/ingress";
import { createLogger } from "@yuju-relay/logging";
import type { FriendAccepted } from "@yuju-relay/protocol";
import { CALLBACK_QUEUE, type CallbackJobData } from "@yuju-relay/queue";
import {
  eventually,
  loadFixtures,
  sendCallback,
  startReceiver,
  TEST_SIGNING_SECRET as SECRET,
  uniquePrefix,
  type Receiver,
} from "@yuju-relay/testing";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { workerEnv } from "./config.ts";
import { startWorker } from "./worker.ts";

const TOKEN = "3f9c2a7e51d84b0c9e6a1f2d7b4c8e05";
const silent = createLogger("test", "silent");

describe("the friend-accepted callback through the real ingress and worker", () => {
  let receiver: Receiver;
  let stack: { close(): Promise<void>; url: string; callbacks: Queue<CallbackJobData>; redis: Redis };
  const fixture = (name: string) => loadFixtures().find((f) => f.name === name)!.raw;

  beforeAll(async () => {
    receiver = await startReceiver();
    const prefix = uniquePrefix("friend");
    const redisUrl = inject("redisUrl");
    const ingress = await startIngress(
      parseEnv(ingressEnv, {
        REDIS_URL: redisUrl,
        QUEUE_PREFIX: prefix,
        PORT: "0",
        HOST: "127.0.0.1",
        CALLBACK_TOKEN: TOKEN,
      }),
      silent,
    );
    const worker = await startWorker(
      parseEnv(workerEnv, {
        REDIS_URL: redisUrl,
        QUEUE_PREFIX: prefix,
        FORWARD_URL: receiver.url,
        FORWARD_SECRET: SECRET,
      }),
      silent,
    );
    const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
    const callbacks = new Queue<CallbackJobData>(CALLBACK_QUEUE, { connection: redis, prefix });
    stack = {
      url: ingress.url,
      callbacks,
      redis,
      async close() {
        await ingress.close();
        await worker.close();
        await callbacks.close();
        await redis.quit();
      },
    };
  });
  afterAll(async () => {
    await stack?.close();
    await receiver?.close();
  });

  it("the documented body on /friend/confirm is delivered as contact.friend_accepted, ids intact, signed, no token", async () => {
    const answer = await sendCallback(`${stack.url}/friend/confirm`, fixture("friend_01_accepted"));
    expect(answer.status).toBe(200);
    await eventually(() => expect(receiver.deliveries).toHaveLength(1));
    const [delivery] = receiver.deliveries;
    new Webhook(SECRET).verify(delivery!.raw, {
      "webhook-id": String(delivery!.headers["webhook-id"]),
      "webhook-timestamp": String(delivery!.headers["webhook-timestamp"]),
      "webhook-signature": String(delivery!.headers["webhook-signature"]),
    });
    expect(delivery!.body.type).toBe("contact.friend_accepted");
    expect(String(delivery!.headers["webhook-id"])).toMatch(/^friend_/);
    const data = delivery!.body.data as unknown as FriendAccepted;
    expect(data).toMatchObject({
      fromWxid: "1688857012345678",
      wxid: "7881300123456789",
      phoneNum: "13800138000",
      contactSenderWxid: "7881300123456789",
    });
    expect(delivery!.raw).not.toContain(TOKEN);
    const [job] = await stack.callbacks.getCompleted();
    expect(job!.data.kind).toBe("friend_accepted");
    expect(JSON.stringify(job!.data)).not.toContain(TOKEN);
  });

  it("on any callback path, with the token at the top level; a wrong token is refused", async () => {
    const body = fixture("friend_02_via_group_token_on_top_unknown_keys");
    expect((await sendCallback(`${stack.url}/notice`, body.replace(TOKEN, "wrong"))).status).toBe(401);
    expect((await sendCallback(`${stack.url}/notice`, body)).status).toBe(200);
    await eventually(() => expect(receiver.deliveries).toHaveLength(2));
    const data = receiver.deliveries[1]!.body.data as unknown as FriendAccepted;
    expect(data.roomWxid).toBe("10696052718820451");
    expect(data.fields).toMatchObject({ nickName: "王晓明", addScene: 3 });
    expect(receiver.deliveries[1]!.raw).not.toContain(TOKEN);
  });
});
