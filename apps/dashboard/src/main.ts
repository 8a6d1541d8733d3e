import { runApp } from "@yuju-relay/app-lifecycle";
import { dashboardEnv } from "./config.ts";
import { startDashboard } from "./dashboard.ts";

await runApp("dashboard", dashboardEnv, startDashboard);
