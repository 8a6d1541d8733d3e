import { z } from "zod";

// The platform types every id as a string, but public integrations send some as JSON numbers,
// and the docs' own samples use `""` or omit fields that do not apply. These parsers accept all of
// that and hand the normalizer one shape: a value or null.

/** A string-typed field: string or number (ids), or absent / null → null. */
export const looseString = z
  .union([z.string(), z.number()])
  .nullish()
  .transform((v) => (v === null || v === undefined ? null : String(v)));

/** Like `looseString`, but `""` also means "not there" (room fields of private chats). */
export const optionalId = looseString.transform((v) => (v === null || v.trim() === "" ? null : v));

/** An id that must be present and non-empty: an event without it cannot be identified. */
export const requiredId = z
  .union([z.string(), z.number()], "expected a string id")
  .transform((v) => String(v))
  .refine((v) => v.trim() !== "", "must not be empty");

/** A number-typed enum field (`type`, `source`, `contactType`): any integer, as number or numeric string. */
export const looseInt = z
  .union([z.number().int(), z.string().regex(/^-?\d+$/, "expected an integer")], "expected an integer")
  .transform((v) => Number(v));

export const optionalInt = looseInt.nullish().transform((v) => v ?? null);

/** A boolean field; `"true"`/`"false"` strings are tolerated, absent / null → null. */
export const optionalBoolean = z
  .union([z.boolean(), z.enum(["true", "false"])], "expected a boolean")
  .nullish()
  .transform((v) => (v === null || v === undefined ? null : v === true || v === "true"));

/** Timestamps are typed as strings but arrive as numeric strings, numbers, or placeholders. */
export const rawTimestamp = z
  .union([z.string(), z.number()])
  .nullish()
  .transform((v) => v ?? null);

/** A JSON object whose keys we keep whatever they are. */
export const looseRecord = z.record(z.string(), z.unknown());

/**
 * Copies keys that carry stray whitespace to their trimmed name (the seed spells
 * `"roomWecomChatId\t"`), unless the clean key is also present: the clean spelling wins.
 */
export function withTrimmedKeys(value: unknown): unknown {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return value;
  const source = value as Record<string, unknown>;
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(source)) {
    const trimmed = key.trim();
    if (trimmed !== key && !(trimmed in source)) {
      copy ??= { ...source };
      copy[trimmed] = source[key];
    }
  }
  return copy ?? value;
}

/** Readable, one issue a line: `data.messageId: expected a string id`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length ? issue.path.map(String).join(".") : "(body)"}: ${issue.message}`)
    .join("; ");
}
