// Error text for logs and job records, from whatever was thrown: the Bot API's errors carry their
// reason in `description` (grammY's GrammyError), everything else is an Error or a value.

export function errMessage(e: unknown): string {
  if (e && typeof e === "object" && "description" in e)
    return String((e as { description: unknown }).description);
  return e instanceof Error ? e.message : String(e);
}
