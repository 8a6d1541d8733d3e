// The real ingress, as `pnpm start:ingress` runs it, with logging silenced.
import { parseEnv } from "@yuju-relay/config";
import { ingressEnv, startIngress } from "@yuju-relay/ingress";
import { createLogger } from "@yuju-relay/logging";
import { required, serveParent } from "./ipc.ts";

const config = parseEnv(ingressEnv, {
  REDIS_URL: required("REDIS_URL"),
  QUEUE_PREFIX: required("QUEUE_PREFIX"),
  CALLBACK_TOKEN: required("CALLBACK_TOKEN"),
  PORT: "0",
  HOST: "127.0.0.1",
  LOG_LEVEL: "silent",
  // The spool scenario (6) gives the ingress a spool; the others run it as configured by default.
  SPOOL_DIR: process.env.SPOOL_DIR,
  SPOOL_DRAIN_RATE: process.env.SPOOL_DRAIN_RATE,
  OPS_PORT: process.env.OPS_PORT,
});
const ingress = await startIngress(config, createLogger("ingress", "silent"));
serveParent({ url: ingress.url, ops: ingress.ops?.url ?? null }, {}, () => ingress.close());
