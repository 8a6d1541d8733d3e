import type { CallbackKind } from "./callback.ts";
import { callbackSubject } from "./callback-subject.ts";

const MAX_ID_LENGTH = 64;

/** An id as people search for it: printable, bounded (a body could hold anything). */
function readable(id: string | null): string | null {
  if (id === null) return null;
  const text = id.replace(/[\p{Cc}\s]+/gu, " ").trim();
  if (text === "") return null;
  return text.length > MAX_ID_LENGTH ? `${text.slice(0, MAX_ID_LENGTH)}…` : text;
}

const leftKeys = ["leftMember", "leftMembers"];

/**
 * What one callback is about, in a few words, for a person scanning a list of jobs: the message id
 * (`m-1`), a member change's direction and room (`left 10696052718820451`), a friend
 * acceptance's wxid (`friend wmXyz`). Null when the body
 * does not say. Never the token or message contents; never throws (it names every job the ingress
 * stores, whatever the body).
 */
export function callbackLabel(kind: CallbackKind, body: unknown): string | null {
  try {
    if (kind === "unclassified") return null;
    const subject = callbackSubject(kind, body);
    if ("messageId" in subject) return readable(subject.messageId);
    if ("wxid" in subject) return `friend ${readable(subject.wxid) ?? "(no wxid)"}`;
    const left = typeof body === "object" && body !== null && leftKeys.some((key) => Object.hasOwn(body, key));
    return `${left ? "left" : "joined"} ${readable(subject.roomId) ?? "(no room id)"}`;
  } catch {
    return null;
  }
}
