import { Command, InvalidArgumentError } from "commander";
import { EXIT } from "../exit-codes.ts";
import { failedRow, listFailedJobs } from "../failed-jobs.ts";
import type { CommandContext } from "../output.ts";
import { runWithRelay } from "../run-with-relay.ts";
import { parseSince } from "../since-option.ts";
import { textTable } from "../text-table.ts";

export function parseLimit(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError("expected a whole number (0: all)");
  return Number(value);
}

/** `relay failed`: the failed events, newest first, with their reasons. */
export function failedCommand(ctx: CommandContext): Command {
  return new Command("failed")
    .description("list failed events, newest first, with their reasons (the callbacks queue and every destination)")
    .option("--destination <name>", "only this destination's deliveries")
    .option("--since <when>", "only those that failed since: 2h, 30m, 10:00 (today), or an ISO date", parseSince)
    .option("--limit <n>", "at most this many (0: all)", parseLimit, 100)
    .option("--json", "print JSON, for scripts")
    .action((options: { destination?: string; since?: number; limit: number; json?: boolean }) =>
      runWithRelay(ctx, async (relay) => {
        const { jobs, more } = await listFailedJobs(relay, options);
        const rows = jobs.map(failedRow);
        if (options.json) {
          ctx.io.out(JSON.stringify(rows, null, 2));
        } else if (rows.length === 0) {
          ctx.io.out("no failed events");
        } else {
          ctx.io.out(
            textTable(
              ["failed at", "queue", "job", "event", "type", "attempts", "reason"],
              rows.map((r) => [
                r.failedAt,
                r.queue,
                r.jobId,
                r.eventId,
                r.type,
                `${r.attempts}/${r.maxAttempts}`,
                r.reason,
              ]),
            ),
          );
        }
        if (more) ctx.io.err(`relay: showing the newest ${rows.length}; --limit 0 lists them all`);
        return EXIT.ok;
      }),
    );
}
