import type { Destination } from "@yuju-relay/config";
import type { Logger } from "@yuju-relay/logging";
import { BURST_CLOSING, burstOfMessageKey, type BurstBuffer, type RedisClient } from "@yuju-relay/queue";
import { burstEvent, burstSeq, inAcceptanceOrder } from "./burst-event.ts";
import type { EnqueueDeliveries } from "./enqueue-deliveries.ts";

export interface BurstCloser {
  /** Closes a chat's burst now if it is due (it just reached maxMessages). */
  closeNow(destination: string, chat: string): void;
  /** Stops polling, after the close under way (if any) is handed over. */
  stop(): Promise<void>;
}

/**
 * Every worker polls each `merge` destination's due chats (BURST_CLOSING.pollMs) and closes them:
 * the close script takes the burst atomically, so of several workers exactly one gets it. The
 * burst is then handed to the destination's queue as one delivery (retries, signing, ordering as
 * any other), its messages are indexed to it for `relay event`, and only then is it forgotten: a
 * worker that dies in between leaves it in `closed`, where another finds it (staleMs) and hands it
 * over again under the same job id, so nothing is added twice.
 */
export function startBurstCloser(deps: {
  redis: RedisClient;
  prefix: string;
  buffers: ReadonlyMap<string, BurstBuffer>;
  destinations: readonly Destination[];
  enqueue: EnqueueDeliveries;
  /** How long a message → burst index entry is kept (KEEP_COMPLETED_AGE). */
  keepIndexMs: number;
  logger: Logger;
}): BurstCloser {
  const { redis, prefix, buffers, enqueue, keepIndexMs, logger } = deps;
  const byName = new Map(deps.destinations.map((d) => [d.name, d]));
  // One hand-over at a time per chat in this process: bursts of a chat go to the queue in order.
  const inFlight = new Map<string, Promise<void>>();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let ticking: Promise<void> = Promise.resolve();

  async function handOver(buffer: BurstBuffer, chat: string): Promise<void> {
    const destination = byName.get(buffer.destination)!;
    for (const burst of await buffer.closedBursts(chat)) {
      const event = burstEvent(destination.name, burst);
      const last = inAcceptanceOrder(burst.entries).at(-1)!;
      await enqueue(event, [{ destination }], {
        callbackJobId: last.cb,
        receivedAt: last.at,
        burstSeq: burstSeq(burst),
      });
      const index = redis.multi();
      for (const entry of burst.entries) {
        const key = burstOfMessageKey(prefix, entry.id);
        index.hset(key, destination.name, event.id).pexpire(key, keepIndexMs);
      }
      await index.exec();
      await buffer.handedOver(chat, burst.n);
      if (logger.isLevelEnabled("debug")) {
        logger.debug(
          { destination: destination.name, eventId: event.id, chatId: chat, messages: burst.entries.length },
          `burst closed by ${burst.why}`,
        );
      }
    }
  }

  /** Serialized per destination and chat, within this process. */
  function inTurn(buffer: BurstBuffer, chat: string, work: () => Promise<void>): Promise<void> {
    const key = `${buffer.destination}\n${chat}`;
    const next = (inFlight.get(key) ?? Promise.resolve()).then(work).catch((error: Error) => {
      // What was taken stays in `closed`: this worker's next poll or another's hands it over.
      logger.warn({ destination: buffer.destination, chatId: chat, err: error.message }, "burst not closed yet");
    });
    inFlight.set(key, next);
    void next.finally(() => {
      if (inFlight.get(key) === next) inFlight.delete(key);
    });
    return next;
  }

  function close(buffer: BurstBuffer, chat: string, cutoff: number): Promise<void> {
    return inTurn(buffer, chat, async () => {
      if (await buffer.close(chat, cutoff)) await handOver(buffer, chat);
    });
  }

  async function tick(): Promise<void> {
    await Promise.all(
      [...buffers.values()].map(async (buffer) => {
        const { due, stale, cutoff } = await buffer.poll(BURST_CLOSING.pollLimit, BURST_CLOSING.staleMs);
        await Promise.all([
          ...due.map((chat) => close(buffer, chat, cutoff)),
          ...stale.map((chat) => inTurn(buffer, chat, () => handOver(buffer, chat))),
        ]);
      }),
    );
  }

  function schedule() {
    if (stopped) return;
    timer = setTimeout(() => {
      ticking = tick()
        .catch((error: Error) => logger.warn({ err: error.message }, "burst poll failed"))
        .finally(schedule);
    }, BURST_CLOSING.pollMs);
  }
  if (buffers.size > 0) schedule();

  return {
    closeNow(destination, chat) {
      const buffer = buffers.get(destination);
      if (buffer && !stopped) void close(buffer, chat, 0);
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await ticking;
      await Promise.all(inFlight.values());
    },
  };
}
