import { writeFileSync } from "node:fs";
import { startRedisCluster } from "@yuju-relay/testing";
const c = await startRedisCluster();
writeFileSync("/tmp/man21/url", c.url);
process.on("SIGTERM", () => void c.close().then(() => process.exit(0)));
setInterval(() => {}, 1 << 30);
