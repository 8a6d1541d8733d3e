/**
 * An example HANDLERS_MODULE (README: "Code handlers"). Run it with
 *
 *   RELAY_CONFIG=relay.yaml HANDLERS_MODULE=examples/handlers/src/handlers.ts pnpm start
 *
 * where relay.yaml declares a destination named `crm`. Message events go through this handler
 * instead of the filters; room events, which it does not handle, still go to every destination
 * whose filter matches them.
 */
import { defineHandlers } from "@yuju-relay/handlers";

/** Rooms whose messages the CRM should see first: the key accounts' groups. */
const KEY_ACCOUNT_ROOMS = new Set(["R:10696052297646433", "R:10770127004316231"]);

export default defineHandlers({
  "message.received": async (event, context) => {
    // The hosted account's own messages come back as callbacks too (API sends included): the CRM
    // already has them, and an auto-reply to them would talk to itself.
    if (event.data.isSelf) return { skipped: "own message" };

    const roomId = event.data.room?.id;
    const tags = roomId && KEY_ACCOUNT_ROOMS.has(roomId) ? ["key-account"] : [];
    // The CRM receives the event with one more field; webhook-id stays the event's id, and the
    // destination's own retries, rate limit and secret apply.
    await context.deliver("crm", { ...event, data: { ...event.data, tags } });
    if (tags.length > 0) context.logger.info({ roomId, tags }, "key account message tagged");
    return { deliveredTo: "crm", tags };
  },
});
