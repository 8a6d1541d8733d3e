import { loadFixtures } from "@yuju-relay/testing";

const FIXTURE = "msg_04_text_group_quote_no_mention";
export const BODY_BYTES = 1024;

interface MessageBody {
  data: { messageId: string; token: string; payload: { text: string } } & Record<string, unknown>;
}

// Read once: bodies are built per request in the end-to-end scenario, on the load generator's loop.
const FIXTURE_TEXT = (() => {
  const found = loadFixtures().find((f) => f.name === FIXTURE);
  if (!found) throw new Error(`fixture ${FIXTURE} not found in packages/protocol/fixtures`);
  return found.raw;
})();

const fixture = () => JSON.parse(FIXTURE_TEXT) as MessageBody;

/** The tenant token the fixture carries: the ingress under test checks it, as in production. */
export const CALLBACK_TOKEN = fixture().data.token;

/**
 * The fixture as the platform sends it (compact JSON), its text padded so that the body is exactly
 * BODY_BYTES: a realistic group text message with a quote.
 */
export function messageBody(messageId?: string): string {
  const body = fixture();
  if (messageId) body.data.messageId = messageId;
  const bare = JSON.stringify(body);
  const missing = BODY_BYTES - Buffer.byteLength(bare);
  if (missing < 0) return bare;
  body.data.payload.text += " ".padEnd(missing, "~");
  return JSON.stringify(body);
}

/** What the ingress would have stored for that body: the job data the worker scenarios pre-fill. */
export function storedJobData(messageId: string) {
  const body = JSON.parse(messageBody(messageId)) as MessageBody;
  delete (body.data as Partial<MessageBody["data"]>).token;
  return { kind: "message" as const, route: "/notice", method: "POST", receivedAt: new Date().toISOString(), body };
}
