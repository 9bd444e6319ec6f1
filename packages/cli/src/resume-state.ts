// The resume state of `citycheck submit`: a small JSON file next to each input (<input>.citycheck-state.json)
// recording which chunks ingest acknowledged and what it said about them. A rerun after an interruption skips
// them; it is ignored when the file, the chunking or the target URL changed. Resending an acknowledged chunk
// would be harmless anyway (submission ids make it a duplicate): the state saves the time, not correctness.
import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import type { FieldProblem } from './answers.js';

export interface Rejection {
  /** Line number, array item (1-based), 1 for a whole .json file, or a spreadsheet row (with its sheet). */
  readonly at: number;
  readonly unit: 'line' | 'item' | 'file' | 'row';
  readonly sheet?: string;
  readonly submissionId: string | null;
  readonly problems: readonly FieldProblem[];
}

export interface ChunkResult {
  readonly sent: number;
  readonly accepted: number;
  readonly duplicates: number;
  readonly rejected: number;
  readonly rejections: readonly Rejection[];
  /**
   * With `--wait`: the ids of the lines ingest accepted or had already received, with where each came from, to
   * follow to their final state. Absent otherwise, so the state of a large upload stays small.
   */
  readonly followed?: readonly FollowedLine[];
}

/** A line (or spreadsheet row) whose submission `--wait` follows. */
export interface FollowedLine {
  readonly submissionId: string;
  readonly at: number;
  readonly sheet?: string;
  readonly status: 'accepted' | 'duplicate';
}

export interface Fingerprint {
  readonly size: number;
  readonly mtimeMs: number;
  readonly chunkLines: number;
  readonly maxChunkBytes: number;
  readonly url: string;
}

export interface ResumeState extends Fingerprint {
  readonly version: 1;
  readonly chunks: Record<string, ChunkResult>;
}

export const statePathFor = (input: string): string => `${input}.citycheck-state.json`;

export const fingerprintOf = async (
  input: string,
  settings: Omit<Fingerprint, 'size' | 'mtimeMs'>,
): Promise<Fingerprint> => {
  const info = await stat(input);
  return { size: info.size, mtimeMs: Math.trunc(info.mtimeMs), ...settings };
};

const sameFingerprint = (a: Fingerprint, b: Fingerprint): boolean =>
  a.size === b.size &&
  a.mtimeMs === b.mtimeMs &&
  a.chunkLines === b.chunkLines &&
  a.maxChunkBytes === b.maxChunkBytes &&
  a.url === b.url;

/** The recorded state when it belongs to this very input and settings; otherwise a fresh one. */
export const loadState = async (
  input: string,
  fingerprint: Fingerprint,
): Promise<{ state: ResumeState; resumed: boolean }> => {
  try {
    const stored = JSON.parse(await readFile(statePathFor(input), 'utf8')) as ResumeState;
    if (stored.version === 1 && sameFingerprint(stored, fingerprint) && typeof stored.chunks === 'object') {
      return { state: stored, resumed: Object.keys(stored.chunks).length > 0 };
    }
  } catch {
    // No state, or unreadable: start afresh.
  }
  return { state: { version: 1, ...fingerprint, chunks: {} }, resumed: false };
};

/** Writes the state atomically (a crash leaves the old or the new file, never half of one). */
export const saveState = async (input: string, state: ResumeState): Promise<void> => {
  const path = statePathFor(input);
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(state)}\n`);
  await rename(temporary, path);
};
