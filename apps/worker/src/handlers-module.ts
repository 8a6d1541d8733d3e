import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { ConfigError } from "@yuju-relay/config";
import type { EventHandlers } from "@yuju-relay/handlers";
import { RELAY_EVENT_TYPES } from "@yuju-relay/protocol";

/**
 * Loads HANDLERS_MODULE: its default export must be an object (what `defineHandlers` returns)
 * with at most one function per event type. Anything else stops the worker with a ConfigError that
 * says what is wrong, rather than failing every job later.
 */
export async function loadHandlersModule(path: string): Promise<EventHandlers> {
  const heading = `Invalid HANDLERS_MODULE ${path}`;
  let loaded: { default?: unknown };
  try {
    loaded = (await import(pathToFileURL(resolve(path)).href)) as { default?: unknown };
  } catch (error) {
    const { code, message } = error as { code?: string; message?: string };
    throw new ConfigError([`cannot load the module: ${code ? `${code}: ` : ""}${message ?? String(error)}`], heading);
  }
  const handlers = loaded.default;
  if (typeof handlers !== "object" || handlers === null || Array.isArray(handlers)) {
    throw new ConfigError(["must default-export the object that defineHandlers({...}) returns"], heading);
  }
  const problems: string[] = [];
  for (const [key, value] of Object.entries(handlers)) {
    if (!(RELAY_EVENT_TYPES as readonly string[]).includes(key)) {
      problems.push(`${key}: not an event type (${RELAY_EVENT_TYPES.join(", ")})`);
    } else if (typeof value !== "function") {
      problems.push(`${key}: must be a function (event, context) => …`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems, heading);
  return handlers as EventHandlers;
}
