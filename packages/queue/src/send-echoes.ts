import { API_SOURCE, type MessageReceivedEvent } from "@yuju-relay/protocol";
import type { RedisClient } from "./connections.ts";
import { chatAccountKey, sentEchoKey } from "./send-keys.ts";
import { createTickBatcher } from "./tick-batcher.ts";

// Per message, two keys: the chat's account key, then its echo key (a dummy when it cannot be an
// echo). ARGV[1] the account keys' TTL, then per message: its botWxid ("" when unknown) and
// whether to look the echo up ("1"). Returns per message the send id it echoes, or false.
const OBSERVE = `
local ttl = ARGV[1]
local found = {}
for i = 1, #KEYS / 2 do
  local bot, lookUp = ARGV[2 * i], ARGV[2 * i + 1]
  if bot ~= "" then redis.call("SET", KEYS[2 * i - 1], bot, "PX", ttl) end
  found[i] = false
  if lookUp == "1" then found[i] = redis.call("GET", KEYS[2 * i]) end
end
return found`;

const OBSERVE_COMMAND = "yujuObserveMessages";
type ObservingRedis = RedisClient & {
  [OBSERVE_COMMAND](numKeys: number, ...keysThenArgs: Array<string | number>): Promise<Array<string | null>>;
};

/** How long a chat's account is remembered for sends that name none: a month without a message. */
export const CHAT_ACCOUNT_TTL_MS = 30 * 86_400_000;

interface Observed {
  accountKey: string;
  echoKey: string;
  botWxid: string;
  lookUp: boolean;
}

/**
 * What the worker learns from each message for the send path, one script call per turn of the
 * event loop for all of them: the hosted account that each chat's messages name (who sends when a
 * request names nobody), and, for a message sent through the API (`source` 6), whether it is the
 * echo of one of this relay's sends (same chat and text within 10 minutes: `data.relaySendId`).
 */
export class SendEchoes {
  private readonly observeInTurn = createTickBatcher((batch: Observed[]) => this.run(batch), { maxBatch: 256 });

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {
    if (!(OBSERVE_COMMAND in redis)) redis.defineCommand(OBSERVE_COMMAND, { lua: OBSERVE });
  }

  /** Sets `data.relaySendId` on the relay's own sends' callbacks; remembers the chat's account. */
  async observe(event: MessageReceivedEvent): Promise<void> {
    const d = event.data;
    if (d.chatId === null) return;
    const lookUp = d.source === API_SOURCE && d.text !== null;
    if (!lookUp && d.bot.wxid === null) return;
    const sendId = await this.observeInTurn({
      accountKey: chatAccountKey(this.prefix, d.chatId),
      echoKey: lookUp ? sentEchoKey(this.prefix, d.chatId, d.text!) : `${this.prefix}:sent:-`,
      botWxid: d.bot.wxid ?? "",
      lookUp,
    });
    if (sendId) d.relaySendId = sendId;
  }

  private async run(batch: Observed[]): Promise<Array<string | null>> {
    const keys: string[] = [];
    const args: Array<string | number> = [CHAT_ACCOUNT_TTL_MS];
    for (const o of batch) {
      keys.push(o.accountKey, o.echoKey);
      args.push(o.botWxid, o.lookUp ? "1" : "0");
    }
    const found = await (this.redis as ObservingRedis)[OBSERVE_COMMAND](keys.length, ...keys, ...args);
    return found.map((f) => f ?? null);
  }
}
