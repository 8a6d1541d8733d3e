import type { Middleware } from "koa";

/**
 * In front of the inspector's API: a request that changes something (anything but GET and HEAD)
 *   - answers 405 when the dashboard is read-only;
 *   - must carry `X-Relay-Request: 1`, which a cross-site form cannot send and a cross-site
 *     script cannot send without a CORS preflight this server never grants;
 *   - when the browser says where it comes from (`Origin`), must come from this dashboard.
 * Basic auth alone does not protect it: a browser sends the credentials from any page.
 */
export function requestGuard({ readOnly }: { readOnly: boolean }): Middleware {
  return async (ctx, next) => {
    if (ctx.method === "GET" || ctx.method === "HEAD") return next();
    if (readOnly) {
      ctx.status = 405;
      ctx.set("Allow", "GET, HEAD");
      ctx.body = { error: "the dashboard is read-only (DASHBOARD_READ_ONLY=true)" };
      return;
    }
    if (ctx.get("X-Relay-Request") !== "1") {
      ctx.status = 403;
      ctx.body = { error: "missing header X-Relay-Request: 1 (sent by the dashboard's pages; scripts must send it)" };
      return;
    }
    const origin = ctx.get("Origin");
    if (origin && !sameHost(origin, ctx.host)) {
      ctx.status = 403;
      ctx.body = { error: "cross-origin request refused" };
      return;
    }
    return next();
  };
}

function sameHost(origin: string, host: string): boolean {
  try {
    return new URL(origin).host === host;
  } catch {
    return false; // `Origin: null` (a sandboxed page, a file) included
  }
}
