import { createHash, timingSafeEqual } from "node:crypto";
import auth from "basic-auth";
import type { Middleware } from "koa";

const digest = (value: string) => createHash("sha256").update(value).digest();

/** HTTP Basic in front of everything it guards, assets included. Compared in constant time. */
export function basicAuthGuard({ user, password }: { user: string; password: string }): Middleware {
  const expectedUser = digest(user);
  const expectedPassword = digest(password);
  return async (ctx, next) => {
    const credentials = auth(ctx.req);
    // Both compared every time, so timing does not tell which one was wrong.
    const userOk = timingSafeEqual(expectedUser, digest(credentials?.name ?? ""));
    const passwordOk = timingSafeEqual(expectedPassword, digest(credentials?.pass ?? ""));
    if (credentials && userOk && passwordOk) return next();
    ctx.status = 401;
    ctx.set("WWW-Authenticate", 'Basic realm="Yuju Relay", charset="UTF-8"');
    ctx.body = { error: "authentication required" };
  };
}
