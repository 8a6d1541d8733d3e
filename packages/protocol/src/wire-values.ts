import { z } from "zod";

// The platform types every id as a string, but public integrations send some as JSON numbers,
// and the docs' own samples use `""` or omit fields that do not apply. The schemas below only check
// that a value is one of the shapes seen on the wire; the functions after them turn it into the one
// shape the events carry (a value or null). Zod's `.transform()` chains did both in one place, but
// cost the worker about 20 µs per job, more than BullMQ's own work on a job (docs/performance.md).

/** A string-typed field: string or number (ids), or absent / null. Read with `textOf` or `idOf`. */
export const stringOrNumber = z.union([z.string(), z.number()]).nullish();

/** An id that must be present and non-empty: an event without it cannot be identified. */
export const requiredId = z
  .union([z.string(), z.number()], "expected a string id")
  .refine((v) => String(v).trim() !== "", "must not be empty");

/** A number-typed enum field (`type`, `source`, `contactType`): any integer, as number or numeric string. */
export const integer = z.union(
  [z.number().int(), z.string().regex(/^-?\d+$/, "expected an integer")],
  "expected an integer",
);

/** A boolean field; `"true"`/`"false"` strings are tolerated. Read with `boolOf`. */
export const booleanLike = z.union([z.boolean(), z.enum(["true", "false"])], "expected a boolean").nullish();

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * A JSON object whose keys we keep whatever they are, `__proto__` included. Checked, never copied:
 * `z.record` rebuilds the object by assignment, which drops a `__proto__` key (and sets the copy's
 * prototype to its value).
 */
export const looseRecord = z.custom<Record<string, unknown>>(isPlainObject, "expected an object");

type Wire<T> = T | null | undefined;

export const textOf = (v: Wire<string | number>): string | null => (v === null || v === undefined ? null : String(v));

/** Like `textOf`, but `""` also means "not there" (room fields of private chats). */
export function idOf(v: Wire<string | number>): string | null {
  const text = textOf(v);
  return text === null || text.trim() === "" ? null : text;
}

export const intOf = (v: Wire<string | number>): number | null => (v === null || v === undefined ? null : Number(v));

export const boolOf = (v: Wire<boolean | "true" | "false">): boolean | null =>
  v === null || v === undefined ? null : v === true || v === "true";

/** Timestamps are typed as strings but arrive as numeric strings, numbers, or placeholders: kept as sent. */
export const rawTimestampOf = (v: Wire<string | number>): string | number | null => v ?? null;

const isVisibleAscii = (code: number) => code > 32 && code < 127;

/**
 * Copies keys that carry stray whitespace to their trimmed name (the seed spells
 * `"roomWecomChatId\t"`), unless the clean key is also present: the clean spelling wins.
 */
export function withTrimmedKeys(value: unknown): unknown {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return value;
  const source = value as Record<string, unknown>;
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(source)) {
    // Most keys are clean: look at their ends before making a trimmed copy of each. Non-ASCII ends
    // go to trim(), which knows every Unicode space.
    if (isVisibleAscii(key.charCodeAt(0)) && isVisibleAscii(key.charCodeAt(key.length - 1))) continue;
    const trimmed = key.trim();
    if (trimmed !== key && !Object.hasOwn(source, trimmed)) {
      copy ??= { ...source };
      // Defined, not assigned: a key such as " __proto__" must stay data, never become a prototype.
      Object.defineProperty(copy, trimmed, {
        value: source[key],
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
  }
  return copy ?? value;
}

// A failed job's reason is read in the dashboard and the logs: the first issues say what is wrong;
// a list of 100 000 invalid members would only bury it (and bloat Redis).
const MAX_ISSUES = 10;

/** Readable, one issue a line: `data.messageId: expected a string id`. */
export function describeIssues(error: z.ZodError): string {
  const described = error.issues
    .slice(0, MAX_ISSUES)
    .map((issue) => `${issue.path.length ? issue.path.map(String).join(".") : "(body)"}: ${issue.message}`)
    .join("; ");
  const more = error.issues.length - MAX_ISSUES;
  return more > 0 ? `${described}; and ${more} more` : described;
}
