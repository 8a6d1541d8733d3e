/** Where a command writes: stdout for results, stderr for errors and progress. */
export interface Output {
  out(line: string): void;
  err(line: string): void;
  /** The terminal for a progress bar; none (or not a TTY) draws none. */
  progress?: NodeJS.WritableStream;
}

/** What every command gets from the program. */
export interface CommandContext {
  io: Output;
  setExitCode(code: number): void;
  /** `relay replay --failed --since 2h`, as typed: what a replay writes into the job's log. */
  commandLine: string;
}
