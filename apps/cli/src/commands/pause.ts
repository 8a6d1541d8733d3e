import { Command } from "commander";
import { EXIT } from "../exit-codes.ts";
import type { CommandContext } from "../output.ts";
import { destinationQueue } from "../relay-queues.ts";
import { runWithRelay } from "../run-with-relay.ts";

/** `relay pause <destination>`: every worker stops taking that destination's jobs. */
export function pauseCommand(ctx: CommandContext): Command {
  return new Command("pause")
    .description("stop delivering to a destination, on every worker, until `relay resume` (its events wait)")
    .argument("<destination>", "the destination's name in RELAY_CONFIG (`default` for FORWARD_URL)")
    .addHelpText("after", "\nDeliveries in flight finish. Exit codes: 0 paused, 1 unknown destination, 69 Redis away.")
    .action((name: string) =>
      runWithRelay(ctx, async (relay) => {
        // Its queue in every partition.
        const queues = relay.partitions.map((partition) => destinationQueue(partition, name));
        const queue = queues[0]!;
        const was = await queue.isPaused();
        await Promise.all(queues.map((q) => q.pause()));
        ctx.io.out(
          was
            ? `${name} was already paused`
            : `paused ${name} (${queue.name}): its events wait until \`relay resume ${name}\``,
        );
        return EXIT.ok;
      }),
    );
}
