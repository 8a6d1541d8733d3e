import type { Queue } from "bullmq";
import { Gauge, type Registry } from "prom-client";

interface InfoClient {
  info(section: "memory"): Promise<string>;
}
interface ClusterClient {
  nodes(role: "master"): InfoClient[];
}

const field = (info: string, name: string) => Number(new RegExp(`^${name}:(\\d+)`, "m").exec(info)?.[1] ?? NaN);

/** used_memory, and the limit that applies: maxmemory, or the machine's memory when maxmemory is 0 (no limit). */
async function memoryOf(client: InfoClient): Promise<{ used: number; limit: number }> {
  const info = await client.info("memory");
  const maxmemory = field(info, "maxmemory");
  return { used: field(info, "used_memory"), limit: maxmemory > 0 ? maxmemory : field(info, "total_system_memory") };
}

/**
 * The memory of the Redis holding the queue, read with INFO at scrape time. Under noeviction a full
 * Redis refuses writes, so the ingress answers 503 to every callback: this is the figure to alert on
 * before that. Read by the apps themselves so that the alert works wherever Redis runs (compose, a
 * managed service, a cluster: the fullest primary), with no exporter to deploy beside it.
 */
export function registerRedisMemoryMetrics(registry: Registry, queue: Queue): void {
  // Each gauge reads INFO on its own: a scrape reads the gauges one after the other, so one that
  // set the other's value would leave that one a scrape behind.
  const fullest = async () => {
    const client = (await queue.client) as unknown as InfoClient | ClusterClient;
    const nodes =
      "nodes" in client && typeof client.nodes === "function" ? client.nodes("master") : [client as InfoClient];
    const memories = await Promise.all(nodes.map(memoryOf));
    return memories.reduce((a, b) => (b.used / b.limit > a.used / a.limit ? b : a));
  };
  new Gauge({
    name: "yuju_redis_memory_used_bytes",
    help: "Memory used by the Redis holding the queue (INFO used_memory; on a cluster, of its fullest primary)",
    registers: [registry],
    async collect() {
      // Redis away: no figure (an unlabelled gauge then reads 0, which YujuRedisMemoryHigh's ratio,
      // 0 / 0, never takes for full) rather than a stale one, and the rest of /metrics still answers.
      const memory = await fullest().catch(() => null);
      if (!memory) return this.reset();
      this.set(memory.used);
    },
  });
  new Gauge({
    name: "yuju_redis_memory_limit_bytes",
    help: "The limit of that memory: maxmemory, or the machine's memory when maxmemory is 0",
    registers: [registry],
    async collect() {
      const memory = await fullest().catch(() => null);
      if (!memory) return this.reset();
      this.set(memory.limit);
    },
  });
}
