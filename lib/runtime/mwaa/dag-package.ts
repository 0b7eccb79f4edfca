/**
 * Where a repo's DAG folder lives on MWAA, and the Python package its DAG files import from.
 *
 * MWAA puts only its `dags/` folder (plus `plugins/`) on `sys.path`. The deployer syncs a repo's
 * Airflow path to `<dagS3Path>/<package>/`, so code shared between a repo's DAG files must be
 * imported as `<package>.<module>` (`from ingest_postgres.common import defaults`), never as a
 * top-level module (`from common import defaults` works on a laptop and fails on MWAA). The
 * package is the repo name made a Python identifier: hyphens become underscores.
 */

/** The Python package name of a repo's DAG folder on MWAA: `ingest-postgres` → `ingest_postgres`. */
export function dagPackageName(repo: string): string {
  const pkg = repo.replace(/[^A-Za-z0-9_]/g, '_');
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(pkg)) {
    throw new Error(`repo name '${repo}' does not give a Python package name for its DAG folder; repo names must start with a letter`);
  }
  return pkg;
}

/** The key prefix, ending in `/`, of a repo's DAG folder in the environment's DAG bucket. */
export function dagFolderPrefix(repo: string, dagS3Path = 'dags'): string {
  return `${dagS3Path.replace(/\/+$/, '')}/${dagPackageName(repo)}/`;
}
