export { dashboardEnv, type DashboardConfig } from "./config.ts";
export { startDashboard, type RunningDashboard } from "./dashboard.ts";
