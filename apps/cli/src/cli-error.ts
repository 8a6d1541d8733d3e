import type { ExitCode } from "./exit-codes.ts";

/** A failure the CLI describes itself: printed as one line on stderr, then exit with its code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
    this.name = "CliError";
  }
}

/** Errors are one line, so that a script can log them as one record. */
export function oneLine(text: string): string {
  return text.trim().replace(/\s*\n\s*/g, "; ");
}

/** A ConfigError's heading and problems on one line: `Invalid RELAY_CONFIG f.yaml: a: …; b: …`. */
export function configErrorLine(error: { message: string; problems: readonly string[] }): string {
  const heading = error.message.split("\n")[0] ?? "";
  return `${heading} ${error.problems.join("; ")}`;
}
