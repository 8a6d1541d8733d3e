import type { RedisClient } from "./connections.ts";

export interface LuaScript {
  lua: string;
  /** Fixed key count; without it, each call passes the key count first. */
  numberOfKeys?: number;
}

const definedOn = new WeakMap<RedisClient, Set<string>>();

/**
 * Defines Lua scripts as commands on a connection and returns that connection typed with them.
 * As commands, ioredis sends EVALSHA rather than each script's text on every call (falling back to
 * EVAL once after a SCRIPT FLUSH), and pipelines made from the connection get them too. Idempotent
 * per connection: the many objects sharing one connection each ask for their scripts.
 */
export function defineScripts<Commands extends object>(
  redis: RedisClient,
  scripts: { [Name in keyof Commands]: LuaScript },
): RedisClient & Commands {
  let defined = definedOn.get(redis);
  if (!defined) definedOn.set(redis, (defined = new Set()));
  for (const [name, script] of Object.entries(scripts) as Array<[string, LuaScript]>) {
    if (defined.has(name)) continue;
    redis.defineCommand(name, script);
    defined.add(name);
  }
  return redis as RedisClient & Commands;
}
