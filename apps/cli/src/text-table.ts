import Table from "cli-table3";

/**
 * A plain table for a terminal or a pipe: no colours (they would reach files and scripts as escape
 * codes), cells cut to a width so that one long failure reason does not wrap every row.
 */
export function textTable(head: string[], rows: Array<Array<string | number | null>>, maxCell = 60): string {
  const table = new Table({ head, style: { head: [], border: [], compact: true } });
  for (const row of rows) table.push(row.map((cell) => cut(cell === null ? "-" : String(cell), maxCell)));
  return table.toString();
}

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
