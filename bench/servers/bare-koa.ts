// The baseline: what the ingress would cost without Redis. Same framework, router and a body
// parser that reads and parses the same JSON body, answering {} at once.
import { bodyParser } from "@koa/bodyparser";
import Router from "@koa/router";
import Koa from "koa";
import type { AddressInfo } from "node:net";
import { serveParent } from "./ipc.ts";

const app = new Koa();
const router = new Router();
app.use(bodyParser({ enableTypes: ["json"], jsonLimit: "1mb" }));
router.all("/notice", (ctx) => {
  ctx.body = {};
});
app.use(router.routes());

const server = app.listen(0, "127.0.0.1");
await new Promise<void>((resolve) => server.once("listening", resolve));
const { port } = server.address() as AddressInfo;
serveParent({ url: `http://127.0.0.1:${port}` }, {}, async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
