import { readCliEnv } from "./cli-env.ts";
import { CliError, oneLine } from "./cli-error.ts";
import { EXIT } from "./exit-codes.ts";
import type { CommandContext } from "./output.ts";
import { openRelayQueues, type RelayQueues } from "./relay-queues.ts";

/** ioredis's ways of saying that Redis went away in the middle of a command. */
function isRedisGone(error: Error): boolean {
  return (
    error.name === "MaxRetriesPerRequestError" || /Connection is closed|ECONNREFUSED|ECONNRESET/.test(error.message)
  );
}

/**
 * Runs an operations command against the worker's queues: reads the environment and RELAY_CONFIG,
 * connects, runs, closes. Every failure ends as one line on stderr and an exit code (exit-codes.ts).
 */
export async function runWithRelay(ctx: CommandContext, work: (relay: RelayQueues) => Promise<number>): Promise<void> {
  let relay: RelayQueues | undefined;
  try {
    relay = await openRelayQueues(readCliEnv());
    ctx.setExitCode(await work(relay));
  } catch (error) {
    if (error instanceof CliError) {
      ctx.io.err(`relay: ${error.message}`);
      ctx.setExitCode(error.exitCode);
    } else if (error instanceof Error && isRedisGone(error)) {
      ctx.io.err(`relay: Redis stopped answering: ${oneLine(error.message)}`);
      ctx.setExitCode(EXIT.unavailable);
    } else {
      ctx.io.err(`relay: unexpected error: ${oneLine(error instanceof Error ? error.message : String(error))}`);
      ctx.setExitCode(EXIT.software);
    }
  } finally {
    await relay?.close();
  }
}
