import { loadEnvOrExit } from "@yuju-relay/config";
import { createLogger } from "@yuju-relay/logging";
import { dashboardEnv } from "./config.ts";
import { startDashboard } from "./dashboard.ts";

const config = loadEnvOrExit("dashboard", dashboardEnv);
const logger = createLogger("dashboard", config.LOG_LEVEL);
const dashboard = await startDashboard(config, logger);

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => {
    dashboard.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
