// A reference, not a baseline: bare Koa that also stores each body in Redis (one LPUSH, ioredis
// auto-pipelining) before answering. It shows what the Redis round trip alone costs on this
// machine, apart from BullMQ and the app's own work.
import { Redis } from "ioredis";
import { required } from "./ipc.ts";
import { serveKoaBaseline } from "./koa-baseline.ts";

const redis = new Redis(required("REDIS_URL"), { enableAutoPipelining: true, enableOfflineQueue: false });
await new Promise<void>((resolve) => redis.once("ready", () => resolve()));
const key = `${required("QUEUE_PREFIX")}:koa-redis`;
await serveKoaBaseline(
  async (body) => {
    await redis.lpush(key, JSON.stringify(body));
  },
  async () => {
    await redis.quit();
  },
);
