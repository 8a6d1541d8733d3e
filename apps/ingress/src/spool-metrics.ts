import type { Spool } from "@yuju-relay/spool";
import { Counter, Gauge, type Registry } from "prom-client";

/**
 * What the spool holds, read at scrape time, and a counter of callbacks drained into the queue
 * (its rate is the drain rate). The age of the oldest spooled callback is the one to alert on: it
 * says how late the queue is, whatever the volume.
 */
export function registerSpoolMetrics(registry: Registry, spool: Spool): { drained(callbacks: number): void } {
  new Gauge({
    name: "yuju_spool_callbacks",
    help: "Callbacks held in the ingress's spool, waiting for Redis",
    registers: [registry],
    collect() {
      this.set(spool.state.records);
    },
  });
  new Gauge({
    name: "yuju_spool_bytes",
    help: "Bytes of the callbacks held in the spool (SPOOL_MAX_BYTES is the limit)",
    registers: [registry],
    collect() {
      this.set(spool.state.bytes);
    },
  });
  new Gauge({
    name: "yuju_spool_limit_bytes",
    help: "The most bytes the spool may hold (SPOOL_MAX_BYTES); past it, callbacks get 503",
    registers: [registry],
    collect() {
      this.set(spool.maxBytes);
    },
  });
  new Gauge({
    name: "yuju_spool_disk_free_bytes",
    help: "Free bytes on the file system of SPOOL_DIR: a disk that fills before SPOOL_MAX_BYTES refuses callbacks with 503 all the same",
    registers: [registry],
    async collect() {
      const free = await spool.freeBytes();
      if (free === null) this.reset();
      else this.set(free);
    },
  });
  new Gauge({
    name: "yuju_spool_oldest_seconds",
    help: "Age of the oldest callback in the spool (0 when it is empty)",
    registers: [registry],
    async collect() {
      const oldest = await spool.oldestAcceptedAt();
      this.set(oldest === null ? 0 : Math.max(0, (Date.now() - oldest) / 1000));
    },
  });
  const drained = new Counter({
    name: "yuju_spool_drained_total",
    help: "Spooled callbacks moved into the queue",
    registers: [registry],
  });
  return { drained: (callbacks) => drained.inc(callbacks) };
}
