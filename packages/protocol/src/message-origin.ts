/**
 * Where a message came from, for loop guards: an assistant that answers what the hosted account
 * itself sent (its own API replies come back as callbacks) answers itself forever.
 *
 *   contact          a person wrote it (not `isSelf`, from the phone or the console)
 *   hosted_account   the hosted account wrote it itself, on its phone or in the console (`isSelf`)
 *   api              sent through the platform's send API (`source` 6): the relay's own sends too
 *   automation       mass sends, auto-replies, other bots, SOPs (`source` 2, 3, 5, 7) and the
 *                    enterprise list's further values (8 to 15)
 *   unknown          no `source`, or one outside the documented range: never an error
 */
export const MESSAGE_ORIGINS = ["contact", "hosted_account", "api", "automation", "unknown"] as const;
export type MessageOrigin = (typeof MESSAGE_ORIGINS)[number];

/** The platform's `source` 6: "sent through the API". */
export const API_SOURCE = 6;

const AUTOMATION_SOURCES = new Set([2, 3, 5, 7, 8, 9, 10, 11, 12, 13, 14, 15]);

/**
 * `source` 0 (phone or device), 1 (console) and 4 (group creation) are a person's doing: the
 * account's own when `isSelf`, else the contact's.
 */
export function messageOriginOf(source: number | null, isSelf: boolean): MessageOrigin {
  if (source === null) return "unknown";
  if (source === API_SOURCE) return "api";
  if (AUTOMATION_SOURCES.has(source)) return "automation";
  if (source === 0 || source === 1 || source === 4) return isSelf ? "hosted_account" : "contact";
  return "unknown";
}
