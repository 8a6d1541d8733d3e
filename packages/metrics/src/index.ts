export { createMetricsRegistry, registerQueueMetrics } from "./queue-metrics.ts";
export { startOpsServer, type OpsServer, type OpsChecks } from "./ops-server.ts";
