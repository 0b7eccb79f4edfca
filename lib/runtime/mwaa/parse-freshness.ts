/**
 * Has the environment parsed the files a deploy put in S3? MWAA syncs the DAG folder from S3 to
 * its containers (about every 30 seconds) and the scheduler re-parses each file every
 * min_file_process_interval (new files only after dag_dir_list_interval), so right after a sync
 * the Airflow CLI still shows the previous files: the old DAGs with their old parse times, no
 * import error for a broken new file, DAGs of deleted files.
 *
 * The rule, per file of the repo's DAG folder: a parse counts when it is later than the file's S3
 * LastModified plus one second (S3 reports whole seconds) plus the sync lag. A file that changes
 * can change what any DAG file of the repo imports or reads, so a DAG file must be parsed after
 * the latest change of any non-DAG file of the repo too.
 */

/** One DAG as the environment lists it, with its file relative to the repo's DAG folder. */
export interface ParsedDag {
  readonly dagId: string;
  /** Path relative to the repo's DAG folder; null when the file is outside it. */
  readonly file: string | null;
  readonly lastParsedTime: Date | null;
}

/** What {@link assessParse} looks at. */
export interface ParseInput {
  /** The repo's DAG folder in S3: path relative to the folder → the object's LastModified. */
  readonly objects: ReadonlyMap<string, Date>;
  /** DAG ids the release's inventory expects, by file relative to the repo's DAG folder. */
  readonly expected: ReadonlyMap<string, readonly string[]>;
  /** DAGs the environment lists (any repo's; those of other folders are ignored). */
  readonly listed: readonly ParsedDag[];
  /** Import errors the environment reports for the repo's files: relative path → error. */
  readonly importErrors: ReadonlyMap<string, string>;
  /** Now, in ms since the epoch. */
  readonly now: number;
  /** How long after an upload the environment may still hold the previous file. */
  readonly syncLagMs: number;
}

/** A file the environment has not caught up with yet. */
export interface PendingFile {
  readonly file: string;
  readonly reasons: readonly string[];
}

/** Verdict of {@link assessParse}. */
export interface ParseAssessment {
  /** Import errors of files parsed after their upload: the release is broken. */
  readonly importErrors: ReadonlyArray<{ readonly file: string; readonly error: string }>;
  /** Files whose current bytes the environment may not have parsed yet. */
  readonly pending: readonly PendingFile[];
}

/** S3 LastModified has whole seconds: a time in the same second may be before the upload. */
const S3_TIME_RESOLUTION_MS = 1_000;

const iso = (t: number | Date): string => new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Pure: which files the environment has parsed since their upload, and which import errors are current. */
export function assessParse(input: ParseInput): ParseAssessment {
  const listedFrom = new Map<string, string[]>();
  for (const d of input.listed) {
    if (d.file === null) continue;
    listedFrom.set(d.file, [...(listedFrom.get(d.file) ?? []), d.dagId]);
  }
  const dagFiles = new Set([...input.expected.keys(), ...listedFrom.keys(), ...input.importErrors.keys()].filter((f) => input.objects.has(f)));
  let otherChanged = 0;
  for (const [file, at] of input.objects) if (!dagFiles.has(file)) otherChanged = Math.max(otherChanged, at.getTime());
  const byId = new Map(input.listed.map((d) => [d.dagId, d]));

  const importErrors: Array<{ file: string; error: string }> = [];
  const pending: PendingFile[] = [];
  for (const file of [...dagFiles].sort()) {
    const uploaded = input.objects.get(file)!.getTime();
    const changed = Math.max(uploaded, otherChanged);
    const parsedAfter = changed + S3_TIME_RESOLUTION_MS + input.syncLagMs;
    const since = changed === uploaded ? `its upload at ${iso(uploaded)}` : `the change of another file of the repo at ${iso(changed)}`;
    const error = input.importErrors.get(file);
    if (error !== undefined) {
      // The CLI shows no time for an import error: one shown sooner than the sync lag after the upload may be the previous file's.
      if (input.now >= parsedAfter) importErrors.push({ file, error });
      else pending.push({ file, reasons: [`it shows an import error, but ${iso(input.now)} is less than the sync lag after ${since}, so the error may be the previous file's`] });
      continue;
    }
    const reasons: string[] = [];
    for (const dagId of [...new Set([...(input.expected.get(file) ?? []), ...(listedFrom.get(file) ?? [])])].sort()) {
      const d = byId.get(dagId);
      if (!d) reasons.push(`DAG ${dagId} is not listed yet`);
      else if (d.file !== file) reasons.push(`DAG ${dagId} is still listed from ${d.file ?? 'a file outside the repo'}`);
      else if (d.lastParsedTime === null) reasons.push(`DAG ${dagId} has no parse recorded by the scheduler yet`);
      else if (d.lastParsedTime.getTime() < parsedAfter) reasons.push(`DAG ${dagId} was last parsed at ${iso(d.lastParsedTime)}, not after ${since} plus the sync lag`);
    }
    if (reasons.length > 0) pending.push({ file, reasons });
  }
  for (const [file, dagIds] of [...listedFrom].sort(([a], [b]) => a.localeCompare(b))) {
    if (!input.objects.has(file)) pending.push({ file, reasons: [`the file is deleted, but DAG(s) ${dagIds.sort().join(', ')} are still listed from it`] });
  }
  for (const file of [...input.importErrors.keys()].sort()) {
    if (!input.objects.has(file) && !listedFrom.has(file)) pending.push({ file, reasons: ['the file is deleted, but its import error is still shown'] });
  }
  pending.sort((a, b) => a.file.localeCompare(b.file));
  return { importErrors, pending };
}
