// The baseline: what the ingress would cost without Redis, answering {} at once.
import { serveKoaBaseline } from "./koa-baseline.ts";

await serveKoaBaseline(() => {});
