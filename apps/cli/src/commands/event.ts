import { Command } from "commander";
import { readEvent } from "@yuju-relay/inspector";
import { eventText } from "../event-text.ts";
import { EXIT } from "../exit-codes.ts";
import type { CommandContext } from "../output.ts";
import { runWithRelay } from "../run-with-relay.ts";

/** `relay event <id>`: where an event went. */
export function eventCommand(ctx: CommandContext): Command {
  return new Command("event")
    .description("show an event's callback job and, for each destination, its delivery (state, attempts, answer)")
    .argument(
      "<id>",
      "a messageId, an event id as sent in webhook-id (msg_…, room_left_…, room_joined_…, friend_…, burst_…), or a callback job id",
    )
    .option("--json", "print the same as JSON, for scripts")
    .addHelpText("after", "\nExit codes: 0 found, 1 unknown or past retention, 69 Redis away, 78 bad configuration.")
    .action((id: string, options: { json?: boolean }) =>
      runWithRelay(ctx, async (relay) => {
        // An event lives in its conversation's partition: the first partition that knows it.
        let report = await readEvent(relay.partitions[0]!, id);
        for (const partition of relay.partitions.slice(1)) {
          if (report.found) break;
          const other = await readEvent(partition, id);
          if (other.found) report = other;
        }
        if (!report.found) {
          if (options.json) ctx.io.out(JSON.stringify(report, null, 2));
          ctx.io.err(`relay: ${report.message}`);
          return EXIT.notFound;
        }
        if (options.json) ctx.io.out(JSON.stringify(report, null, 2));
        else for (const line of eventText(report)) ctx.io.out(line);
        return EXIT.ok;
      }),
    );
}
