import { Command } from "commander";
import { EXIT } from "../exit-codes.ts";
import { humanDuration } from "@yuju-relay/inspector";
import type { CommandContext } from "../output.ts";
import { relayStats } from "../queue-stats.ts";
import { runWithRelay } from "../run-with-relay.ts";
import { sendQuotaHeldSince } from "@yuju-relay/queue";
import { textTable } from "../text-table.ts";

/** `relay stats`: each queue's depth, its backlog's age, and what it finished in the last hour. */
export function statsCommand(ctx: CommandContext): Command {
  return new Command("stats")
    .description(
      "per queue and destination: waiting, active, delayed, failed, oldest waiting job's age, completed in the last hour",
    )
    .option("--json", "print JSON, for scripts (ages in ms)")
    .addHelpText(
      "after",
      "\nFor a destination, completed means delivered. The callbacks queue completes a job when it has fanned it out.",
    )
    .action((options: { json?: boolean }) =>
      runWithRelay(ctx, async (relay) => {
        const [stats, heldSince] = await Promise.all([
          relayStats(relay),
          // The send API is not partitioned: its keys are beside its queue.
          sendQuotaHeldSince(relay.redis, relay.sends.opts.prefix ?? relay.prefix),
        ]);
        if (options.json) {
          ctx.io.out(JSON.stringify(stats, null, 2));
          return EXIT.ok;
        }
        ctx.io.out(
          textTable(
            ["queue", "destination", "paused", "waiting", "active", "delayed", "failed", "oldest waiting", "done (1h)"],
            stats.map((s) => [
              s.queue,
              s.destination,
              s.paused ? "PAUSED" : "no",
              s.waiting,
              s.active,
              s.delayed,
              s.failed,
              s.oldestWaitingMs === null ? null : humanDuration(s.oldestWaitingMs),
              s.completedLastHour,
            ]),
          ),
        );
        // The sends queue's row is above (its delayed: sends waiting for their turn, pacing or a retry).
        ctx.io.out(
          heldSince
            ? `sends: HELD since ${heldSince}: the platform's quota is spent (402); \`relay send resume\` once it is refilled`
            : "sends: not held",
        );
        return EXIT.ok;
      }),
    );
}
