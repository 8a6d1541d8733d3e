import type { z } from "zod";
import { resolveSecretFiles, SECRET_VARIABLES } from "./secret-variables.ts";

/** A configuration that cannot start the app. Its message names every offending variable. */
export class ConfigError extends Error {
  constructor(
    readonly problems: readonly string[],
    heading = "Invalid configuration",
  ) {
    super(`${heading}:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/**
 * Parses the environment once, at start. Empty strings count as unset, so `FOO=` in a compose
 * file or `.env` falls back to the default instead of failing a numeric parse. Every secret
 * variable (SECRET_VARIABLES) may come from the file its `<NAME>_FILE` names.
 */
export function parseEnv<Schema extends z.ZodType>(
  schema: Schema,
  env: Record<string, string | undefined> = process.env,
): z.infer<Schema> {
  const secrets = resolveSecretFiles(env, secretVariablesOf(schema));
  const present: Record<string, string> = {};
  for (const [key, value] of Object.entries(secrets.env)) if (value !== undefined && value !== "") present[key] = value;
  const result = schema.safeParse(present);
  if (result.success && secrets.problems.length === 0) return result.data;
  // A secret whose source is in question would also read as missing: its own problem says it better.
  throw new ConfigError([
    ...secrets.problems,
    ...(result.error?.issues ?? [])
      .filter((issue) => !secrets.unresolved.has(String(issue.path[0])))
      .map((issue) => {
        const variable = issue.path.map(String).join(".") || "(environment)";
        // Never echo the received value: the variable may hold a secret.
        return `${variable}: ${issue.message}`;
      }),
  ]);
}

/**
 * The secret variables a schema reads: a file named by `<NAME>_FILE` is read only by the apps that
 * use that secret (in a container, only they have it mounted).
 */
function secretVariablesOf(schema: z.ZodType): readonly string[] {
  const shape = (schema as { shape?: Record<string, unknown> }).shape;
  return shape ? SECRET_VARIABLES.filter((name) => name in shape) : SECRET_VARIABLES;
}

/** For an app's entry point: a bad value stops the process with a message naming the variable. */
export function loadEnvOrExit<Schema extends z.ZodType>(
  app: string,
  schema: Schema,
  env: Record<string, string | undefined> = process.env,
): z.infer<Schema> {
  return exitOnConfigError(app, () => parseEnv(schema, env));
}

/** Runs a step of start-up that reads configuration: a ConfigError stops the process with its message, exit 78. */
export function exitOnConfigError<T>(app: string, read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${app}: ${error.message}\n`);
      process.exit(78); // EX_CONFIG: a supervisor should not restart-loop on it
    }
    throw error;
  }
}
