import { readFileSync } from "node:fs";

/**
 * Variables that hold a secret. Each of them may instead be read from a file named by `<NAME>_FILE`
 * (the Docker and Kubernetes secrets convention), so that the secret never sits in the process's
 * environment, in `docker inspect` or in a compose file. A new secret variable only joins this list.
 */
export const SECRET_VARIABLES = [
  "CALLBACK_TOKEN",
  "FORWARD_SECRET",
  "DASHBOARD_PASSWORD",
  "RELAY_API_KEYS",
  "PLATFORM_API_KEY",
] as const;

export type SecretLookup = { value: string | undefined } | { problem: string };

/**
 * The value of `name`, from the variable itself or from the file `<name>_FILE` names. One trailing
 * newline in the file is dropped (`echo` and most editors add one); anything else is kept as is.
 * Both set is a problem naming both: which one would win is not something to guess in production.
 * A problem names variables and the file's path, never a value.
 */
export function lookUpSecret(env: Record<string, string | undefined>, name: string): SecretLookup {
  const fileVariable = `${name}_FILE`;
  const direct = env[name];
  const path = env[fileVariable];
  const hasDirect = direct !== undefined && direct !== "";
  if (path === undefined || path === "") return { value: hasDirect ? direct : undefined };
  if (hasDirect) {
    return { problem: `${name} and ${fileVariable} are both set: set only one of them` };
  }
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "read error";
    return { problem: `${fileVariable}: cannot read ${path} (${code})` };
  }
  const value = text.replace(/\r?\n$/, "");
  return { value: value === "" ? undefined : value };
}

/**
 * The environment with every secret variable of `names` read from its `_FILE` when that is how it
 * is given, and the problems met (each naming the variables, never a value).
 */
export function resolveSecretFiles(
  env: Record<string, string | undefined>,
  names: readonly string[] = SECRET_VARIABLES,
): { env: Record<string, string | undefined>; problems: string[]; unresolved: Set<string> } {
  const resolved = { ...env };
  const problems: string[] = [];
  const unresolved = new Set<string>();
  for (const name of names) {
    const found = lookUpSecret(env, name);
    if ("problem" in found) {
      problems.push(found.problem);
      unresolved.add(name);
    } else resolved[name] = found.value;
  }
  return { env: resolved, problems, unresolved };
}
