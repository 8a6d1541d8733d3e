import { burstEventId, type ConversationBurstEvent, type MessageReceived } from "@yuju-relay/protocol";
import type { BurstEntry, ClosedBurst } from "@yuju-relay/queue";

/**
 * Workers add a chat's messages as they get to them, not always in the order the ingress took them:
 * the burst lists them by acceptance, the callback job id (Redis's own counter) breaking ties
 * within a millisecond.
 */
export function inAcceptanceOrder(entries: readonly BurstEntry[]): BurstEntry[] {
  const seq = (e: BurstEntry) => (/^\d{1,15}$/.test(e.cb) ? Number(e.cb) : Number.MAX_SAFE_INTEGER);
  return [...entries].sort((a, b) => Date.parse(a.at) - Date.parse(b.at) || seq(a) - seq(b));
}

/** The one value all messages share, else null (a group's burst has several senders). */
function shared<T>(values: T[]): T | null {
  return values.every((v) => v === values[0]) ? (values[0] ?? null) : null;
}

/**
 * The `conversation.burst` event of a closed burst. Everything in it comes from the burst as
 * stored, so a burst handed over twice (its first taker died) is the same event, with the same id.
 */
export function burstEvent(destination: string, burst: ClosedBurst): ConversationBurstEvent {
  const entries = inAcceptanceOrder(burst.entries);
  const first = entries[0]!;
  const last = entries[entries.length - 1]!;
  const messages = entries.map((e) => e.data as MessageReceived);
  return {
    id: burstEventId(destination, first.id, last.id),
    type: "conversation.burst",
    data: {
      chatId: burst.chat,
      botWxid: shared(messages.map((m) => m.bot.wxid)),
      contactId: shared(messages.map((m) => m.contact.id)),
      roomId: shared(messages.map((m) => m.room?.id ?? null)),
      messages,
      firstAt: first.at,
      lastAt: last.at,
      closedBy: burst.why,
    },
  };
}

/**
 * The place in line of a burst for an ordered destination. A chat's bursts are taken one after the
 * other by the close script, so the time it took each (Redis's clock) orders them; the burst number
 * breaks a tie within one millisecond. A count alone would start again once the chat's state
 * expires after an idle hour, ahead of a burst still held failing under `onFailure: block`.
 * Below 2^53 until the year 2255.
 */
export function burstSeq(burst: ClosedBurst): number {
  return burst.closedAt * 1000 + (burst.n % 1000);
}
