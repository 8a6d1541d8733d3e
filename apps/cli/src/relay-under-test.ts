import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadDestinations, parseEnv } from "@yuju-relay/config";
import { ingressEnv, startIngress } from "@yuju-relay/ingress";
import { createLogger } from "@yuju-relay/logging";
import { runCommand, sendCallback, uniquePrefix, type Receiver } from "@yuju-relay/testing";
import { startWorker, workerEnv } from "@yuju-relay/worker";
import { TEST_SIGNING_SECRET } from "@yuju-relay/testing";

/** For the CLI's tests: the real ingress and worker on the run's Redis, destinations at real receivers. */
export const SECRET = TEST_SIGNING_SECRET;
const silent = createLogger("test", "silent");

export interface TestDestination {
  name: string;
  receiver: Receiver;
  /** Message kinds it wants (filter.kinds). */
  kinds?: string[];
  attempts?: number;
  baseDelay?: string;
  /** `merge` as written in the file: `{ quiet: 300ms }`. */
  merge?: string;
}

/** A message callback as the platform sends it, of a given messageId and numeric type (7 text, 6 image, 2 voice). */
export function messageCallback(messageId: string, type = 7): string {
  return JSON.stringify({
    data: {
      messageId,
      chatId: "c-1",
      contactName: "赵建国",
      contactId: "7881300555512345",
      payload: { text: "在吗？" },
      type,
      timestamp: "1742260865000",
      token: "string",
      botWxid: "1688857012345678",
      isSelf: false,
      roomId: "",
    },
  });
}

export async function startRelayUnderTest(redisUrl: string, destinations: TestDestination[]) {
  const prefix = uniquePrefix("cli");
  const dir = mkdtempSync(join(tmpdir(), "relay-cli-"));
  const file = join(dir, "relay.yaml");
  writeFileSync(
    file,
    `destinations:\n${destinations
      .map(
        (d) =>
          `  - name: ${d.name}\n    url: ${d.receiver.url}\n    secret: \${DEST_SECRET}\n` +
          (d.kinds ? `    filter: { kinds: [${d.kinds.join(", ")}] }\n` : "") +
          (d.attempts ? `    attempts: ${d.attempts}\n` : "") +
          (d.baseDelay ? `    retry: { baseDelay: ${d.baseDelay}, maxDelay: 1h }\n` : "") +
          (d.merge ? `    merge: ${d.merge}\n` : ""),
      )
      .join("")}`,
  );
  // What the CLI gets: the worker's variables, without the secrets (it never signs).
  const env = { REDIS_URL: redisUrl, QUEUE_PREFIX: prefix, RELAY_CONFIG: file };
  const config = parseEnv(workerEnv, { ...env, WORKER_CONCURRENCY: "8", RETRY_BASE_DELAY: "20ms" });
  const worker = await startWorker(config, silent, {
    destinations: loadDestinations(config, { env: { DEST_SECRET: SECRET } }),
  });
  const ingress = await startIngress(
    parseEnv(ingressEnv, { ...env, PORT: "0", HOST: "127.0.0.1", ENQUEUE_TIMEOUT: "5s" }),
    silent,
  );
  return {
    env,
    prefix,
    worker,
    ingressUrl: ingress.url,
    /** POSTs a body to /notice; resolves once the ingress stored it. */
    async send(body: string) {
      const answer = await sendCallback(`${ingress.url}/notice`, body);
      if (answer.status !== 200) throw new Error(`ingress answered ${answer.status}`);
    },
    /** `pnpm relay …` as a real child process: exit code, stdout and stderr apart. */
    relay(...args: string[]) {
      return runCommand("apps/cli/src/main.ts", args, env);
    },
    async close() {
      await ingress.close();
      await worker.close();
    },
  };
}
