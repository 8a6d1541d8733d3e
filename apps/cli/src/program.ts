import { Command, CommanderError } from "commander";
import { oneLine } from "./cli-error.ts";
import { configCheckCommand } from "./commands/config-check.ts";
import { eventCommand } from "./commands/event.ts";
import { failedCommand } from "./commands/failed.ts";
import { keysCommand } from "./commands/keys.ts";
import { pauseCommand } from "./commands/pause.ts";
import { replayCommand } from "./commands/replay.ts";
import { resumeCommand } from "./commands/resume.ts";
import { sendCommand } from "./commands/send.ts";
import { statsCommand } from "./commands/stats.ts";
import { EXIT } from "./exit-codes.ts";
import type { CommandContext, Output } from "./output.ts";

const EXIT_CODES_HELP = `
Reads the worker's environment (REDIS_URL, QUEUE_PREFIX, REDIS_CLUSTER, CALLBACK_PARTITIONS, RELAY_CONFIG, KEEP_*_AGE).
Exit codes: 0 ok, 1 not found (unknown id, past retention, unknown destination), 3 partly done
(some jobs could not be replayed), 64 usage, 69 Redis unreachable, 70 unexpected error,
78 invalid configuration.`;

/** The `relay` program: one commander sub-command per file in commands/. */
export function createProgram(ctx: CommandContext): Command {
  const { io } = ctx;
  const program = new Command("relay")
    .description("Yuju Relay operations: find an event, list and replay failures, queue stats, pause a destination")
    .configureOutput({
      writeOut: (s) => io.out(s.trimEnd()),
      writeErr: (s) => io.err(s.trimEnd()),
      // Errors are one line (commander adds "Did you mean …?" on a line of its own).
      outputError: (s, write) => write(`relay: ${oneLine(s)} (see --help)`),
    })
    .exitOverride()
    .addHelpText("after", EXIT_CODES_HELP);
  program.addCommand(eventCommand(ctx));
  program.addCommand(failedCommand(ctx));
  program.addCommand(replayCommand(ctx));
  program.addCommand(statsCommand(ctx));
  program.addCommand(pauseCommand(ctx));
  program.addCommand(resumeCommand(ctx));
  program.addCommand(sendCommand(ctx));
  program
    .command("config")
    .description("the RELAY_CONFIG file")
    .addCommand(configCheckCommand(io, (code) => ctx.setExitCode(code)));
  program.addCommand(keysCommand(ctx));
  inheritSettings(program);
  return program;
}

/** Commands made apart and added with addCommand do not inherit these: every level gets them. */
function inheritSettings(parent: Command): void {
  for (const command of parent.commands) {
    command.copyInheritedSettings(parent);
    inheritSettings(command);
  }
}

/** The command as typed, quoted where needed: what a replay writes into a job's log. */
function commandLine(argv: string[]): string {
  return ["relay", ...argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a)))].join(" ");
}

/** Runs argv; resolves with the exit code. Usage errors exit 64, help and version 0. */
export async function runRelay(argv: string[], io: Output): Promise<number> {
  let code: number = EXIT.ok;
  const program = createProgram({ io, setExitCode: (c) => (code = c), commandLine: commandLine(argv) });
  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    // --help and --version exit 0; `relay` alone (help shown as an error) and misuse are usage errors.
    return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  return code;
}
