// What both Koa references share, so that they differ only in what they do per request: the same
// framework, router and body parser reading and parsing the same JSON body.
import { bodyParser } from "@koa/bodyparser";
import Router from "@koa/router";
import Koa, { type Context } from "koa";
import type { AddressInfo } from "node:net";
import { serveParent } from "./ipc.ts";

export async function serveKoaBaseline(handle: (body: unknown) => Promise<void> | void, close = async () => {}) {
  const app = new Koa();
  const router = new Router();
  app.use(bodyParser({ enableTypes: ["json"], jsonLimit: "1mb" }));
  router.all("/notice", (ctx: Context) => {
    const stored = handle(ctx.request.body);
    // No extra await for the bare baseline: its handler stays as cheap as Koa allows.
    if (!stored) {
      ctx.body = {};
      return;
    }
    return stored.then(() => {
      ctx.body = {};
    });
  });
  app.use(router.routes());

  const server = app.listen(0, "127.0.0.1");
  await new Promise<void>((resolve) => server.once("listening", resolve));
  const { port } = server.address() as AddressInfo;
  serveParent({ url: `http://127.0.0.1:${port}` }, {}, async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await close();
  });
}
