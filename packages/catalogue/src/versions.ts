// Catalogue version ids, `<cycle year>.<revision>` (2024.1, 2025.1, 2025.10): parsing and ordering.

const versionPattern = /^([0-9]{4})\.([0-9]{1,3})$/;

/** Whether `text` is a well-formed catalogue version id; the pattern matches submission.catalogueVersion. */
export const isCatalogueVersion = (text: string): boolean => versionPattern.test(text);

const parts = (version: string): readonly [number, number] => {
  const match = versionPattern.exec(version);
  if (match === null) throw new RangeError(`"${version}" is not a catalogue version (expected e.g. 2024.1)`);
  return [Number(match[1]), Number(match[2])];
};

/** Orders versions by year, then revision as a number (2025.2 before 2025.10). Throws on malformed ids. */
export const compareCatalogueVersions = (a: string, b: string): number => {
  const [yearA, revisionA] = parts(a);
  const [yearB, revisionB] = parts(b);
  return yearA - yearB || revisionA - revisionB;
};

/** The cycle year a version id names. */
export const cycleOfVersion = (version: string): number => parts(version)[0];
