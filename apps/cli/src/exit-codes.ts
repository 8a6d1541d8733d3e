/**
 * What `relay` exits with, for scripts (sysexits.h where one fits). README lists them.
 */
export const EXIT = {
  ok: 0,
  /** A command or option was misused (commander's own errors too). */
  usage: 64,
  /** The configuration is invalid: a RELAY_CONFIG file, or a variable. */
  config: 78,
} as const;
