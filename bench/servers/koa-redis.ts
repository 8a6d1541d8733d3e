// A reference, not a baseline: bare Koa that also stores each body in Redis (one LPUSH, ioredis
// auto-pipelining) before answering. It shows what the Redis round trip alone costs on this
// machine, apart from BullMQ and the app's own work.
import { bodyParser } from "@koa/bodyparser";
import Router from "@koa/router";
import { Redis } from "ioredis";
import Koa from "koa";
import type { AddressInfo } from "node:net";
import { required, serveParent } from "./ipc.ts";

const redis = new Redis(required("REDIS_URL"), { enableAutoPipelining: true, enableOfflineQueue: false });
await new Promise<void>((resolve) => redis.once("ready", () => resolve()));
const key = `${required("QUEUE_PREFIX")}:koa-redis`;
const app = new Koa();
const router = new Router();
app.use(bodyParser({ enableTypes: ["json"], jsonLimit: "1mb" }));
router.all("/notice", async (ctx) => {
  await redis.lpush(key, JSON.stringify(ctx.request.body));
  ctx.body = {};
});
app.use(router.routes());

const server = app.listen(0, "127.0.0.1");
await new Promise<void>((resolve) => server.once("listening", resolve));
const { port } = server.address() as AddressInfo;
serveParent({ url: `http://127.0.0.1:${port}` }, {}, async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await redis.quit();
});
