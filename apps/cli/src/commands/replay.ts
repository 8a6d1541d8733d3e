import { replayEvent } from "@yuju-relay/inspector";
import { Command } from "commander";
import { CliError } from "../cli-error.ts";
import { replayAll } from "../bulk-replay.ts";
import { EXIT } from "../exit-codes.ts";
import { failedJobRefs } from "../failed-jobs.ts";
import type { CommandContext } from "../output.ts";
import { destinationQueue, type RelayQueues } from "../relay-queues.ts";
import { runWithRelay } from "../run-with-relay.ts";
import { parseSince } from "../since-option.ts";

interface ReplayOptions {
  failed?: boolean;
  destination?: string;
  since?: number;
  asNew?: boolean;
  dryRun?: boolean;
}

const HELP = `
By default a replay keeps the webhook-id: it is a retry of the same event, and a receiver that
de-duplicates on webhook-id drops it if it already took it. Use it after an outage or a refusal
(the receiver never took the event). --as-new sends it under <eventId>_r<n> instead: for a
receiver that took the event but must process it again (it lost it, or its bug is fixed).

Examples:
  relay replay m-1                          every failed or delivered delivery of message m-1
  relay replay msg_m-1 --destination crm    only its delivery to crm
  relay replay --failed --since 10:00       everything that failed since 10:00
  relay replay --failed --destination crm --as-new --dry-run

Exit codes: 0 done, 1 unknown id or nothing to replay, 3 some jobs could not be replayed,
64 usage, 69 Redis away, 78 bad configuration.`;

/** `relay replay <id>` and `relay replay --failed`: deliver again. */
export function replayCommand(ctx: CommandContext): Command {
  const command: Command = new Command("replay")
    .description("deliver an event again, or every failed event (--failed)")
    .argument("[id]", "a messageId or event id (see relay event)")
    .option("--failed", "replay every failed job (the callbacks queue and every destination, or --destination)")
    .option("--destination <name>", "only this destination's deliveries")
    .option("--since <when>", "with --failed: only those that failed since: 2h, 30m, 10:00, or an ISO date", parseSince)
    .option("--as-new", "send under a new webhook-id derived from the old one (<eventId>_r<n>)")
    .option("--dry-run", "with --failed: say what would be replayed, change nothing")
    .addHelpText("after", HELP)
    .action(async (id: string | undefined, options: ReplayOptions) => {
      if (id && options.failed) command.error("error: give an id or --failed, not both");
      if (!id && !options.failed) command.error("error: give an id, or --failed");
      if (!options.failed && (options.since !== undefined || options.dryRun)) {
        command.error("error: --since and --dry-run go with --failed");
      }
      await runWithRelay(ctx, (relay) => (id ? replayOne(ctx, relay, id, options) : replayFailed(ctx, relay, options)));
    });
  return command;
}

async function replayOne(ctx: CommandContext, relay: RelayQueues, id: string, options: ReplayOptions): Promise<number> {
  if (options.destination) destinationQueue(relay, options.destination); // an unknown name: exit 1, naming the known ones
  const request = { destination: options.destination, asNew: options.asNew ?? false, commandLine: ctx.commandLine };
  // An event lives in its conversation's partition: the first partition that replays it.
  let replay = await replayEvent(relay.partitions[0]!, id, request);
  for (const partition of relay.partitions.slice(1)) {
    if (replay.ok) break;
    const other = await replayEvent(partition, id, request);
    if (other.ok) replay = other;
  }
  if (!replay.ok) throw new CliError(`${replay.message} (see relay event ${id})`, EXIT.notFound);
  let errors = 0;
  for (const { target, jobId, outcome } of replay.outcomes) {
    if (outcome.status === "replayed") ctx.io.out(`${target}: replayed (${outcome.how})`);
    else if (outcome.status === "skipped") ctx.io.out(`${target}: skipped (${outcome.reason})`);
    else {
      errors += 1;
      ctx.io.err(`relay: ${target}: could not replay job ${jobId}: ${outcome.reason}`);
    }
  }
  return errors > 0 ? EXIT.partial : EXIT.ok;
}

async function replayFailed(ctx: CommandContext, relay: RelayQueues, options: ReplayOptions): Promise<number> {
  const jobs = await failedJobRefs(relay, { destination: options.destination, since: options.since });
  const since = options.since === undefined ? "" : ` since ${new Date(options.since).toISOString()}`;
  if (jobs.length === 0) {
    ctx.io.out(`no failed jobs to replay${since}`);
    return EXIT.ok;
  }
  const perQueue = (counts: Map<string, number>) => [...counts].map(([queue, n]) => `${queue} ${n}`).join(", ");
  if (options.dryRun) {
    const counts = new Map<string, number>();
    for (const { queue } of jobs) counts.set(queue.name, (counts.get(queue.name) ?? 0) + 1);
    ctx.io.out(`would replay ${jobs.length} failed jobs${since}: ${perQueue(counts)}`);
    return EXIT.ok;
  }
  const summary = await replayAll(jobs, { asNew: options.asNew ?? false, commandLine: ctx.commandLine }, ctx.io);
  const mode = options.asNew ? "as new (new webhook-ids)" : "webhook-ids kept";
  ctx.io.out(
    `replayed ${summary.replayed} of ${jobs.length} failed jobs${since}, ${mode}: ${perQueue(summary.byQueue) || "none"}` +
      (summary.skipped ? `; ${summary.skipped} skipped (no longer failed)` : ""),
  );
  for (const error of summary.errors.slice(0, 10)) {
    ctx.io.err(`relay: ${error.queue}: could not replay job ${error.jobId}: ${error.reason}`);
  }
  if (summary.errors.length > 10)
    ctx.io.err(`relay: … and ${summary.errors.length - 10} more that could not be replayed`);
  return summary.errors.length > 0 ? EXIT.partial : EXIT.ok;
}
