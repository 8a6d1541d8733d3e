import { Command, CommanderError } from "commander";
import { configCheckCommand, type Output } from "./commands/config-check.ts";
import { EXIT } from "./exit-codes.ts";

/**
 * The `relay` program. Each command group is a commander sub-command built in commands/; the
 * operations commands (event, failed, replay, stats, pause, resume) join here beside `config`.
 */
export function createProgram(io: Output, setExitCode: (code: number) => void): Command {
  const program = new Command("relay")
    .description("Yuju Relay operations: check configuration (more commands to come)")
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) })
    .exitOverride()
    .showHelpAfterError();
  program.command("config").description("the RELAY_CONFIG file").addCommand(configCheckCommand(io, setExitCode));
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

/** Runs argv; resolves with the exit code. Usage errors exit 64, help and version 0. */
export async function runRelay(argv: string[], io: Output): Promise<number> {
  let code: number = EXIT.ok;
  const program = createProgram(io, (c) => (code = c));
  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    const ok =
      error.code === "commander.helpDisplayed" || error.code === "commander.help" || error.code === "commander.version";
    return ok ? EXIT.ok : EXIT.usage;
  }
  return code;
}
