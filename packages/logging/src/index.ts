import { pino, type DestinationStream, type Logger, type LevelWithSilent } from "pino";

export type { Logger };

/**
 * Paths censored in every log line. Callback bodies carry the tenant's API `token`, and request
 * headers carry dashboard credentials: both must never reach a log, whichever object is logged.
 */
export const REDACTED_PATHS = [
  "token",
  "*.token",
  "*.*.token",
  "data.token",
  "body.token",
  "body.data.token",
  "password",
  "*.password",
  "secret",
  "*.secret",
  "authorization",
  "headers.authorization",
  "req.headers.authorization",
  "req.headers.cookie",
  "apiKey",
  "*.apiKey",
];

/** `destination`: stdout unless given (a test keeps the lines to search them). */
export function createLogger(app: string, level: LevelWithSilent = "info", destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { app },
    redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  return destination ? pino(options, destination) : pino(options);
}
