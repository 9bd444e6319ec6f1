// Plain-text tables for the terminal, the first row a header; CJK characters count as two columns.

/** How many terminal columns `text` takes. */
export const displayWidth = (text: string): number => {
  let columns = 0;
  for (const char of text)
    columns +=
      /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/u.test(
        char,
      )
        ? 2
        : 1;
  return columns;
};

/** The rows as lines of columns two spaces apart, each cell padded to its column's widest. */
export const formatTextTable = (rows: readonly (readonly string[])[]): string[] => {
  const widths =
    rows[0]?.map((_, column) => Math.max(...rows.map((row) => displayWidth(row[column] ?? '')))) ?? [];
  return rows.map((row) =>
    row
      .map((cell, column) => cell + ' '.repeat(Math.max(0, (widths[column] ?? 0) - displayWidth(cell))))
      .join('  ')
      .trimEnd(),
  );
};
