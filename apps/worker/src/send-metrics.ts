import { sendQuotaKey, type RedisClient } from "@yuju-relay/queue";
import { Counter, Gauge, type Registry } from "prom-client";

export type SendMetrics = ReturnType<typeof createSendMetrics>;

/** The send path's metrics. The quota gauge is read from Redis at scrape time: every worker reports the same. */
export function createSendMetrics(registry: Registry, redis: RedisClient, prefix: string) {
  const attempts = new Counter({
    name: "yuju_send_attempts_total",
    help: "Platform calls by outcome (sent, retrying, failed, rate_limited, held)",
    labelNames: ["outcome"],
    registers: [registry],
  });
  const resends = new Counter({
    name: "yuju_send_possible_resends_total",
    help: "Sends called again after a worker died during a call: the platform may have sent them twice",
    registers: [registry],
  });
  const waits = new Counter({
    name: "yuju_send_waits_total",
    help: "Times a send waited before its call, by reason (order, account, window, rate_limited, held)",
    labelNames: ["reason"],
    registers: [registry],
  });
  new Gauge({
    name: "yuju_send_quota_exhausted",
    help: "1 while the platform's quota is spent (it answered 402) and every send is held",
    registers: [registry],
    async collect() {
      this.set((await redis.exists(sendQuotaKey(prefix)).catch(() => 0)) === 1 ? 1 : 0);
    },
  });
  return {
    attempt(outcome: string) {
      attempts.inc({ outcome });
    },
    possibleResend() {
      resends.inc();
    },
    waited(reason: string) {
      waits.inc({ reason });
    },
  };
}
