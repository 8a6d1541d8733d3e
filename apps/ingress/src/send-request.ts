import type { SendRequest } from "@yuju-relay/queue";
import { z } from "zod";

const id = (name: string) =>
  z
    .string({ error: `${name} must be a string` })
    .trim()
    .min(1, `${name} must not be empty`)
    .max(256, `${name} is too long`);
const httpUrl = z
  .string({ error: "url must be a string" })
  .refine((v) => /^https?:\/\/\S+$/.test(v), "url must be an http(s) URL")
  .refine((v) => v.length <= 4_096, "url is too long");
const common = {
  chatId: id("chatId"),
  botWxid: id("botWxid").optional(),
  idempotencyKey: id("idempotencyKey").optional(),
};

/** POST /v1/messages: `{chatId, text}` or `{chatId, type: image|file, url, name?}`, with optional botWxid and idempotencyKey. */
const sendBody = z.union([
  z.strictObject({
    ...common,
    type: z.literal("text").optional(),
    text: z.string({ error: "text must be a string" }).min(1, "text must not be empty").max(10_000, "text is too long"),
  }),
  z.strictObject({ ...common, type: z.literal("image"), url: httpUrl }),
  z.strictObject({ ...common, type: z.literal("file"), url: httpUrl, name: z.string().max(255).optional() }),
]);

export type ParsedSendBody = { ok: true; request: SendRequest } | { ok: false; field: string; error: string };

/** The body's first problem, naming its field, or the request to accept. */
export function parseSendBody(body: unknown): ParsedSendBody {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    return { ok: false, field: "(body)", error: "the body must be a JSON object" };
  }
  const b = body as Record<string, unknown>;
  // Pick the branch by `type`, so that the error names the field that is wrong for that type.
  const type = b.type ?? "text";
  if (type !== "text" && type !== "image" && type !== "file") {
    return { ok: false, field: "type", error: 'type must be "text", "image" or "file"' };
  }
  const schema = sendBody.options[type === "text" ? 0 : type === "image" ? 1 : 2];
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field =
      issue.path.map(String).join(".") || (issue.code === "unrecognized_keys" ? issue.keys.join(", ") : "(body)");
    const error = issue.code === "unrecognized_keys" ? `unknown field ${issue.keys.join(", ")}` : issue.message;
    return {
      ok: false,
      field,
      error: issue.code === "invalid_type" && issue.input === undefined ? `${field} is required` : error,
    };
  }
  const d = parsed.data;
  const message =
    d.type === "image"
      ? { type: "image" as const, url: d.url }
      : d.type === "file"
        ? { type: "file" as const, url: d.url, name: d.name ?? null }
        : { type: "text" as const, text: d.text };
  return { ok: true, request: { chatId: d.chatId, message, botWxid: d.botWxid, idempotencyKey: d.idempotencyKey } };
}
