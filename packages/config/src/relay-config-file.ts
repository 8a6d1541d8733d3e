import { readFileSync } from "node:fs";
import { parseDocument } from "yaml";
import type { z } from "zod";
import { ConfigError } from "./parse-env.ts";
import { relayConfigSchema, type Destination, type SchemaOptions } from "./relay-config-schema.ts";

/** `destinations[1].filter.kinds[0]`: where in the file a problem is. */
export function formatConfigPath(path: ReadonlyArray<PropertyKey>): string {
  let out = "";
  for (const key of path) out += typeof key === "number" ? `[${key}]` : `${out ? "." : ""}${String(key)}`;
  return out || "(file)";
}

function describeIssue(issue: z.core.$ZodIssue): string[] {
  const where = formatConfigPath(issue.path);
  // One line per unknown key, each naming it: the typo is what the reader needs to see.
  if (issue.code === "unrecognized_keys") return issue.keys.map((key) => `${where}: unknown key "${key}"`);
  return [`${where}: ${issue.message}`];
}

/**
 * Reads, checks and resolves a RELAY_CONFIG file. Throws a ConfigError naming every problem by its
 * path in the file (`destinations[1].filter.kinds[0]: unknown kind "txt"`), never a secret's value.
 */
export function readRelayConfig(path: string, options: SchemaOptions): Destination[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new ConfigError([`cannot read the file (${code})`], `Invalid RELAY_CONFIG ${path}`);
  }
  return parseRelayConfig(text, options, path);
}

export function parseRelayConfig(text: string, options: SchemaOptions, source = "RELAY_CONFIG"): Destination[] {
  const heading = `Invalid RELAY_CONFIG ${source}`;
  const document = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (document.errors.length > 0) {
    throw new ConfigError(
      document.errors.map((e) => {
        const at = e.linePos?.[0];
        return `${at ? `line ${at.line}, column ${at.col}` : "YAML"}: ${e.message.split(" at line ")[0]}`;
      }),
      heading,
    );
  }
  const raw: unknown = document.toJS();
  if (raw === null || raw === undefined) throw new ConfigError(["(file): is empty; expected destinations"], heading);
  const result = relayConfigSchema(options).safeParse(raw);
  if (!result.success) throw new ConfigError(result.error.issues.flatMap(describeIssue), heading);
  return result.data.destinations;
}
