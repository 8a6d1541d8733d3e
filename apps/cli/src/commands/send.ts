import { acceptSend, readSendRecord, resumeHeldSends, sendQuotaHeldSince } from "@yuju-relay/queue";
import { Command } from "commander";
import { CliError } from "../cli-error.ts";
import { EXIT } from "../exit-codes.ts";
import type { CommandContext } from "../output.ts";
import { runWithRelay } from "../run-with-relay.ts";

/**
 * `relay send`: a message through the same path as POST /v1/messages (the same acceptance, in
 * Redis, as every relay command: no API key needed), `relay send status <id>`, `relay send resume`.
 */
export function sendCommand(ctx: CommandContext): Command {
  const send = new Command("send")
    .description("send a message to a chat through the platform (paced, once), or see and resume sends")
    .option("--chat <chatId>", "the chat to send to")
    .option("--text <text>", "the text to send")
    .option("--bot <botWxid>", "the hosted account that sends (default: the one last seen in the chat's callbacks)")
    .option("--idempotency-key <key>", "sent once per key within 24 h")
    .addHelpText(
      "after",
      "\nPrints the send's id. Exit codes: 0 queued, 1 no account known for the chat, 64 usage, 69 Redis away.",
    )
    .action((options: { chat?: string; text?: string; bot?: string; idempotencyKey?: string }) => {
      if (!options.chat || !options.text) {
        ctx.io.err("relay: send needs --chat <chatId> and --text <text> (see --help)");
        ctx.setExitCode(EXIT.usage);
        return;
      }
      const { chat, text } = options;
      return runWithRelay(ctx, async (relay) => {
        const result = await acceptSend(relay.redis, relay.sends, relay.sends.opts.prefix ?? relay.prefix, {
          chatId: chat,
          message: { type: "text", text },
          botWxid: options.bot,
          idempotencyKey: options.idempotencyKey,
        });
        switch (result.outcome) {
          case "accepted":
            ctx.io.out(result.id);
            return EXIT.ok;
          case "duplicate":
            ctx.io.out(result.id);
            ctx.io.err(
              `relay: that idempotency key was used already: its send is ${result.status ?? "queued"}, nothing new sent`,
            );
            return EXIT.ok;
          case "conflict":
            throw new CliError(
              `that idempotency key was used in the last 24 h with another message (send ${result.id})`,
              EXIT.usage,
            );
          case "no_account":
            throw new CliError(
              `no hosted account known for chat ${chat}: pass --bot <botWxid> (none of its callbacks seen yet)`,
              EXIT.notFound,
            );
        }
      });
    });

  send.addCommand(
    new Command("status")
      .description("a send's status, attempts and the platform's last answer")
      .argument("<id>", "the send's id (snd_…)")
      .option("--json", "print JSON")
      .action((id: string, options: { json?: boolean }) =>
        runWithRelay(ctx, async (relay) => {
          const record = await readSendRecord(relay.redis, relay.prefix, id);
          if (!record) throw new CliError(`no send ${id} (or past its 7-day record)`, EXIT.notFound);
          if (options.json) {
            ctx.io.out(JSON.stringify(record, null, 2));
            return EXIT.ok;
          }
          const request = record.request;
          const what =
            request?.message.type === "text" ? JSON.stringify(request.message.text) : (request?.message.type ?? "?");
          ctx.io.out(`${record.id}: ${record.status}`);
          ctx.io.out(`  to chat ${request?.chatId ?? "?"} from ${request?.botWxid ?? "?"}: ${what}`);
          ctx.io.out(`  accepted ${record.acceptedAt ?? "?"}`);
          for (const a of record.attempts) {
            ctx.io.out(
              `  attempt ${a.attempt} at ${a.at}: ${a.outcome}, ${a.status ?? a.error ?? "no answer"} in ${a.durationMs} ms` +
                (a.responseExcerpt ? `: ${a.responseExcerpt.slice(0, 200)}` : ""),
            );
          }
          return EXIT.ok;
        }),
      ),
  );

  send.addCommand(
    new Command("resume")
      .description("after the platform's quota was spent (402) and refilled: send the held messages now")
      .action(() =>
        runWithRelay(ctx, async (relay) => {
          const since = await sendQuotaHeldSince(relay.redis, relay.sends.opts.prefix ?? relay.prefix);
          const promoted = await resumeHeldSends(relay.redis, relay.sends, relay.sends.opts.prefix ?? relay.prefix);
          ctx.io.out(
            since
              ? `resumed sends (held since ${since}): ${promoted} waiting sends go out now`
              : `sends were not held; ${promoted} waiting sends checked again`,
          );
          return EXIT.ok;
        }),
      ),
  );
  return send;
}
