import { ConfigError, DEFAULT_DESTINATION, readRelayConfig, resolveSigningSecret } from "@yuju-relay/config";
import { ed25519PublicKey } from "@yuju-relay/protocol";
import { Command } from "commander";
import { CliError, configErrorLine } from "../cli-error.ts";
import { readCliEnv } from "../cli-env.ts";
import { EXIT } from "../exit-codes.ts";
import type { CommandContext } from "../output.ts";

const DEFAULTS = { timeoutMs: 10_000, attempts: 1, retry: { baseDelayMs: 1, maxDelayMs: 1 } };

/**
 * `relay keys public <destination>`: the `whpk_…` public key of an `signing: ed25519` destination,
 * to give its receiver. Reads only that destination's secret (its variable or `_FILE`); prints
 * public keys only. Keys of `previousSecrets` still in use go to stderr, dated, for the receiver
 * that has not switched yet.
 */
export function keysCommand(ctx: CommandContext): Command {
  const keys = new Command("keys").description("signing keys of ed25519 destinations");
  keys
    .command("public")
    .description("print the whpk_ public key of an ed25519 destination, for its receiver to verify v1a signatures")
    .argument("<destination>", "the destination's name in RELAY_CONFIG")
    .addHelpText(
      "after",
      "\nExit codes: 0 printed, 1 unknown destination, 64 not an ed25519 destination, 78 bad configuration.",
    )
    .action((name: string) => {
      const { io } = ctx;
      try {
        const { RELAY_CONFIG } = readCliEnv();
        if (!RELAY_CONFIG) {
          throw new CliError(
            `${DEFAULT_DESTINATION} (FORWARD_SECRET) signs with hmac-sha256: its receiver holds the secret itself, there is no public key`,
            name === DEFAULT_DESTINATION ? EXIT.usage : EXIT.notFound,
          );
        }
        // References as written: only this destination's secret is read.
        const destinations = readRelayConfig(RELAY_CONFIG, { env: {}, resolveSecrets: false, defaults: DEFAULTS });
        const destination = destinations.find((d) => d.name === name);
        if (!destination) {
          throw new CliError(
            `unknown destination ${name} (${destinations.map((d) => d.name).join(", ")})`,
            EXIT.notFound,
          );
        }
        if (destination.signing !== "ed25519") {
          throw new CliError(
            `${name} signs with ${destination.signing ?? "hmac-sha256"}: its receiver holds the secret itself, there is no public key (set signing: ed25519 for one)`,
            EXIT.usage,
          );
        }
        const read = (reference: string, where: string) => {
          const found = resolveSigningSecret(reference, "ed25519", process.env);
          if ("problem" in found) throw new CliError(`${where}: ${found.problem}`, EXIT.config);
          return found.value;
        };
        io.out(ed25519PublicKey(read(destination.secret, `${name}.secret`)));
        const now = Date.now();
        for (const [i, previous] of (destination.previousSecrets ?? []).entries()) {
          if (previous.until.getTime() <= now) continue;
          const key = ed25519PublicKey(read(previous.secret, `${name}.previousSecrets[${i}].secret`));
          io.err(`previous key, also signing until ${previous.until.toISOString()}: ${key}`);
        }
        ctx.setExitCode(EXIT.ok);
      } catch (error) {
        if (error instanceof ConfigError) {
          io.err(`relay: ${configErrorLine(error)}`);
          ctx.setExitCode(EXIT.config);
          return;
        }
        if (!(error instanceof CliError)) throw error;
        io.err(`relay: ${error.message}`);
        ctx.setExitCode(error.exitCode);
      }
    });
  return keys;
}
