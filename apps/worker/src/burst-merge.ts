import type { Destination } from "@yuju-relay/config";
import type { MessageReceivedEvent, RelayEvent } from "@yuju-relay/protocol";
import type { BurstBuffer } from "@yuju-relay/queue";
import type { FanOutSource } from "./enqueue-deliveries.ts";

/** Adds a message to the open burst of its chat at each given destination (all with `merge`). */
export type AddToBursts = (
  event: MessageReceivedEvent,
  destinations: readonly Destination[],
  source: FanOutSource,
) => Promise<void>;

/**
 * The chat a message's burst is kept under: its chatId, else its room. A message with neither has
 * no chat to merge in: it is delivered on its own.
 */
export function burstChatOf(event: RelayEvent): string | null {
  if (event.type !== "message.received") return null;
  return event.data.chatId ?? event.data.room?.id ?? null;
}

/** Whether an event goes into a burst at this destination instead of being delivered on its own. */
export function mergesAt(destination: Destination, event: RelayEvent): event is MessageReceivedEvent {
  return !!destination.merge && burstChatOf(event) !== null;
}

/**
 * The fan-out's side of bursts: one script call per message and destination (the hot path's only
 * round trip). A burst that reaches `maxMessages` is closed at once, not at the next poll.
 */
export function createBurstAdder(
  buffers: ReadonlyMap<string, BurstBuffer>,
  closeNow: (destination: string, chat: string) => void,
): AddToBursts {
  return async (event, destinations, source) => {
    const chat = burstChatOf(event)!;
    const entry = { id: event.id, at: source.receivedAt, cb: source.callbackJobId, data: event.data };
    await Promise.all(
      destinations.map(async (destination) => {
        const buffer = buffers.get(destination.name);
        if (!buffer) throw new Error(`destination ${destination.name} has no burst buffer in this worker`);
        const size = await buffer.append(chat, entry);
        if (size >= buffer.policy.maxMessages) closeNow(destination.name, chat);
      }),
    );
  };
}
