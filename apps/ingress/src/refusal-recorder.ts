import { REFUSAL_STATUSES, type RefusalLog } from "@yuju-relay/queue";
import type { Middleware } from "koa";

const REFUSED = new Set<number>(REFUSAL_STATUSES);

/**
 * After the answer is set, hands a refused callback (any status in REFUSAL_STATUSES, whichever
 * middleware refused it) to the refusal log: a push into an in-memory buffer, so the 200 path
 * pays one Set lookup. The body is what the route read (`ctx.state.callbackText`), if it read one.
 */
export function refusalRecorder(record: RefusalLog["record"]): Middleware {
  return async (ctx, next) => {
    await next();
    if (!REFUSED.has(ctx.status)) return;
    const answer = ctx.body as { error?: unknown } | null;
    record({
      status: ctx.status,
      reason: typeof answer?.error === "string" ? answer.error : "",
      ip: ctx.ip,
      path: ctx.path,
      body: typeof ctx.state.callbackText === "string" ? ctx.state.callbackText : null,
    });
  };
}
