/**
 * What `relay` exits with, for scripts (sysexits.h where one fits). README lists them.
 */
export const EXIT = {
  ok: 0,
  /** What was asked for is not there: an unknown id (or one past retention), an unknown destination. */
  notFound: 1,
  /** A bulk replay did part of its work: some jobs could not be replayed (the summary says which). */
  partial: 3,
  /** A command or option was misused (commander's own errors too). */
  usage: 64,
  /** Redis did not answer. */
  unavailable: 69,
  /** A bug: an error nobody described. */
  software: 70,
  /** The configuration is invalid: a RELAY_CONFIG file, or a variable. */
  config: 78,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
