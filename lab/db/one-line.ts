/** An error as one line of text: its message with line breaks turned into ` | `. Pure. */
export function oneLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, ' | ');
}
