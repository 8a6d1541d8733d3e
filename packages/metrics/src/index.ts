export { createMetricsRegistry, registerQueueMetrics, type MeasuredQueue } from "./queue-metrics.ts";
export {
  boundedReadiness,
  READINESS_DEADLINE_MS,
  startOpsServer,
  type OpsServer,
  type OpsChecks,
  type ReadinessCheck,
} from "./ops-server.ts";
