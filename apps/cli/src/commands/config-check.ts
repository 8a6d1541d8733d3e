import {
  ConfigError,
  DEFAULT_DELIVERY_ATTEMPTS,
  destinationEnv,
  parseEnv,
  readRelayConfig,
  type Destination,
} from "@yuju-relay/config";
import { Command } from "commander";
import { z } from "zod";
import { EXIT } from "../exit-codes.ts";
import type { Output } from "../output.ts";

export type { Output } from "../output.ts";

/** One line per destination, never its secret or the credentials a URL may carry. */
function describe(d: Destination): string {
  const url = new URL(d.url);
  const where = `${url.origin}${url.pathname}`;
  const events = d.events ? d.events.join(", ") : "every event type";
  const filter = d.filter ? `filter on ${Object.keys(d.filter).join(", ")}` : "no filter";
  const rate = d.rateLimit ? `at most ${d.rateLimit}/s` : "no rate limit";
  const order = d.ordering ? `; ordered per conversation (onFailure: ${d.ordering.onFailure})` : "";
  const signing = d.signing === "ed25519" ? "; signed ed25519 (v1a)" : "";
  return `  ${d.name}${d.enabled ? "" : " (disabled)"} -> ${where}: ${events}; ${filter}; ${d.attempts} attempts, timeout ${d.timeoutMs}ms, ${rate}${order}${signing}`;
}

/** An overlap is meant to last hours or days (Svix and Outpost default to 24 h): past this, a forgotten old key. */
const LONG_OVERLAP_MS = 30 * 86_400_000;

/** Warnings that do not make the file invalid: previous keys that sign for too long, or no longer sign. */
function rotationWarnings(destinations: readonly Destination[], now = Date.now()): string[] {
  const warnings: string[] = [];
  destinations.forEach((d, i) =>
    (d.previousSecrets ?? []).forEach((p, j) => {
      const where = `destinations[${i}].previousSecrets[${j}].until`;
      const ms = p.until.getTime() - now;
      if (ms > LONG_OVERLAP_MS) {
        warnings.push(
          `warning: ${where}: ${p.until.toISOString()} is ${Math.floor(ms / 86_400_000)} days away: an old key should sign for hours or days, not months`,
        );
      } else if (ms <= 0) {
        warnings.push(`warning: ${where}: ${p.until.toISOString()} is past: that key no longer signs, remove it`);
      }
    }),
  );
  return warnings;
}

/**
 * `relay config check FILE`: the worker's own reading of a RELAY_CONFIG file, without starting
 * anything. With `--no-env` the secrets' variables need not be set (a check in CI).
 */
export function configCheckCommand(io: Output, setExitCode: (code: number) => void): Command {
  return new Command("check")
    .description("validate a RELAY_CONFIG file as the worker would read it, without starting anything")
    .argument("<file>", "the YAML file")
    .option("--no-env", "do not resolve ${ENV_VAR} references (check only that secrets are references)")
    .action((file: string, options: { env: boolean }) => {
      try {
        // The defaults a destination gets from the worker's environment (FORWARD_TIMEOUT, RETRY_*).
        const env = parseEnv(
          z.object(destinationEnv).pick({ FORWARD_TIMEOUT: true, RETRY_BASE_DELAY: true, RETRY_MAX_DELAY: true }),
        );
        const destinations = readRelayConfig(file, {
          env: process.env,
          resolveSecrets: options.env,
          defaults: {
            timeoutMs: env.FORWARD_TIMEOUT,
            attempts: DEFAULT_DELIVERY_ATTEMPTS,
            retry: { baseDelayMs: env.RETRY_BASE_DELAY, maxDelayMs: env.RETRY_MAX_DELAY },
          },
        });
        io.out(`${file}: valid, ${destinations.length} destination${destinations.length === 1 ? "" : "s"}`);
        for (const d of destinations)
          io.out(options.env ? describe(d) : `  ${d.name}${d.enabled ? "" : " (disabled)"}`);
        for (const warning of rotationWarnings(destinations)) io.err(warning);
        setExitCode(EXIT.ok);
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        io.err(error.message);
        setExitCode(EXIT.config);
      }
    });
}
