import { Command } from "commander";
import { EXIT } from "../exit-codes.ts";
import type { CommandContext } from "../output.ts";
import { destinationQueue } from "../relay-queues.ts";
import { runWithRelay } from "../run-with-relay.ts";

/** `relay resume <destination>`: after `relay pause`, or after the destination answered 410 Gone. */
export function resumeCommand(ctx: CommandContext): Command {
  return new Command("resume")
    .description("deliver to a paused destination again (paused by `relay pause`, or by a 410 Gone answer)")
    .argument("<destination>", "the destination's name in RELAY_CONFIG (`default` for FORWARD_URL)")
    .addHelpText("after", "\nExit codes: 0 resumed, 1 unknown destination, 69 Redis away.")
    .action((name: string) =>
      runWithRelay(ctx, async (relay) => {
        // Its queue in every partition.
        const queues = relay.partitions.map((partition) => destinationQueue(partition, name));
        const was = await queues[0]!.isPaused();
        const waiting = (await Promise.all(queues.map((q) => q.getWaitingCount()))).reduce((a, b) => a + b, 0);
        await Promise.all(queues.map((q) => q.resume()));
        ctx.io.out(was ? `resumed ${name}: ${waiting} waiting events go out now` : `${name} was not paused`);
        return EXIT.ok;
      }),
    );
}
