import type { S3Client } from '@aws-sdk/client-s3';
import { getObjectBytes } from '../aws/s3';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { fqnSelector, modelNodes, stateSelection, type DbtEnvironment, type ModelNode, type StateSelection } from './dbt-build';
import { modelsToRebuild, type ModelRelation } from '../snowflake/dbt-models';
import type { SqlClient } from '../snowflake/sql-client';
import {
  buildTableOf,
  cloneSql,
  commentSql,
  createSchemaSql,
  currentTimestampSql,
  insertOverwriteSql,
  insertSql,
  releaseComment,
  swapSql,
  tableInfoSql,
  undropSql,
  type TableRef,
} from '../snowflake/statements';
import type { ApplyResult, DeployContext, Deployer } from './contract';
import { DeployError } from './errors';
import { extractDbtProject, readReleaseFiles, sha256Hex, tarEntries, writeDbtProject } from './release-files';
import { applyObjectSet, planObjectSet, planRestore, readObjectSet, restoreObjectSet, type DesiredObject, type ObjectSet, type ObjectSetPlan } from './s3-object-set';

/** Rebuilds one model's rows into a zero-copy clone of its live table. */
export interface ModelBuilder {
  build(model: ModelRelation, into: TableRef, sql: SqlClient): Promise<void>;
}

/**
 * Rebuilds a model from the SQL compiled for the environment in the release's dbt manifest:
 * a table model's clone gets `INSERT OVERWRITE … <compiled select>`, an incremental model's clone
 * (which already holds the live rows) gets `INSERT INTO … <compiled incremental select>`
 * (append strategy). Models whose columns change, or incremental models that merge on a unique
 * key, need dbt itself: give the deployer a builder that runs `dbt build` against the clone.
 */
export class CompiledSqlBuilder implements ModelBuilder {
  async build(model: ModelRelation, into: TableRef, sql: SqlClient): Promise<void> {
    if (model.compiledCode === null) {
      throw new DeployError(`model ${model.uniqueId} has no compiled_code in the release's dbt manifest; run 'dbt compile' for the environment in the Package action`);
    }
    await sql.query(model.materialized === 'incremental' ? insertSql(into, model.compiledCode) : insertOverwriteSql(into, model.compiledCode));
  }
}

/** Props of {@link DbtSnowflakeDeployer}. */
export interface DbtSnowflakeDeployerProps {
  /** Connection to the environment's Snowflake account as the deploy role. */
  readonly sql: SqlClient;
  /** S3 client of the environment's account (the deploy role's credentials). */
  readonly s3: S3Client;
  /**
   * Bucket the environment's dbt runs read the published artifacts from (`dbt/<repo>/`): the
   * environment's MWAA bucket, in its own account (docs/decisions.md, "dbt artifacts"), so no
   * environment reads across accounts into tooling.
   */
  readonly artifactBucket: string;
  /** @default CompiledSqlBuilder */
  readonly builder?: ModelBuilder;
  /**
   * Runs dbt in the environment's warehouse (`SnowflakeDbtEnvironment`). With it the deployer compares
   * the release with the manifest the environment runs, builds the changed models and their
   * descendants with dbt in a build schema, gates on their tests and swaps them in; without it, it
   * rebuilds only the release's `dbt.modelsToRebuild` from compiled SQL. `workDir` is a scratch folder
   * of this deploy. @default - none
   */
  readonly dbtEnvironment?: (ctx: DeployContext, workDir: string) => DbtEnvironment;
}

/** What the state comparison found and what dbt resolved, when the deployer runs dbt. */
export interface DbtRun {
  readonly environment: DbtEnvironment;
  readonly workDir: string;
  readonly projectDir: string;
  readonly selection: StateSelection;
  /** Manifest of the release parsed for the environment's live output (the relations refs defer to). */
  readonly liveManifestFile: string;
  /** The selected models, with their live and build relations. */
  readonly models: ReadonlyArray<{ readonly node: ModelNode; readonly build: TableRef }>;
}

/** LAST_ALTERED (load watermark), ROW_COUNT and COMMENT of a table. */
export interface TableInfo {
  readonly lastAltered: string;
  readonly rowCount: number | null;
  readonly comment: string | null;
}

/** Published artifacts and the live tables of the models the release rebuilds. */
export interface DbtState {
  readonly bucket: string;
  readonly prefix: string;
  readonly objects: ObjectSet;
  readonly models: readonly ModelRelation[];
  /** By model unique id; null when the table does not exist yet. */
  readonly tables: Readonly<Record<string, TableInfo | null>>;
  /** Set when the deployer runs dbt ({@link DbtSnowflakeDeployerProps.dbtEnvironment}). */
  readonly run?: DbtRun;
}

/** Artifacts to publish and models to rebuild in a clone. */
export interface DbtPlan {
  readonly bucket: string;
  readonly objects: ObjectSetPlan;
  readonly rebuild: readonly ModelRelation[];
  /** Models marked for rebuild whose table does not exist yet (the next dbt run creates them). */
  readonly absent: readonly string[];
  /** Published objects and watermarks before the deploy. */
  readonly before: { readonly objects: ObjectSet; readonly tables: Readonly<Record<string, TableInfo | null>> };
  /** Set when the deployer runs dbt: the views it re-creates in the live schemas after the swaps. */
  readonly run?: DbtRun & { readonly views: readonly ModelNode[] };
}

/** One table a release swapped, with what a data restore needs. */
export interface SwappedTable {
  readonly uniqueId: string;
  readonly table: TableRef;
  /** Holds the previous data after the swap. */
  readonly keptAs: TableRef;
  /** Watermark before the deploy. */
  readonly before: TableInfo;
  /**
   * LAST_ALTERED right after the swap: a later value means a load landed since. Null when recorded
   * before the apply; the restore then uses the kept table's LAST_ALTERED (the swap altered both).
   */
  readonly lastAlteredAfterSwap: string | null;
}

/** What the deploy replaced: published artifacts, the pre-deploy timestamp and swapped tables. */
export interface DbtPrevious {
  readonly releaseVersion: string;
  readonly bucket: string;
  readonly prefix: string;
  readonly objects: ObjectSet;
  /** Snowflake time just before the first change, for Time Travel; null when nothing was rebuilt. */
  readonly preDeployAt: string | null;
  readonly tables: readonly SwappedTable[];
  /** Tables the release created (none live before); a rollback leaves them, and says so. @default none */
  readonly created?: readonly TableRef[];
  /** Views the release re-created; a rollback re-creates them from the restored project. @default none */
  readonly views?: readonly string[];
  /**
   * The models dbt built and tested in this deploy (tables and views), with their `fqn:` selector: the
   * staging and prod gates run the tests of exactly these. @default - not recorded (the gates run every test)
   */
  readonly built?: ReadonlyArray<{ readonly uniqueId: string; readonly selector: string }>;
}

/** Key prefix of published dbt artifacts in an environment's MWAA bucket; each repo publishes under `dbt/<repo>/`. */
export const DBT_S3_PATH = 'dbt';

const PROJECT_KEY = 'project.tar.gz';
const MANIFEST_KEY = 'manifest.json';

/**
 * dbt/Snowflake deployer: publishes the dbt project tarball and manifest the environment's runs
 * use to `s3://<environment's MWAA bucket>/dbt/<repo>/` (compared by sha256, versioned for a byte-exact
 * rollback), and rebuilds the models the release marks for rebuild in a zero-copy clone that is
 * swapped in atomically (`CREATE … CLONE`, build, `ALTER TABLE … SWAP WITH`). The table a swap
 * leaves behind keeps the previous data for a fast swap back. Before the first change it records
 * Snowflake's current time and each affected table's watermark (LAST_ALTERED, ROW_COUNT).
 *
 * A rebuilt table carries the comment `dataops release <version> of <repo>` (it moves with the data
 * on SWAP), so a second apply of the same release rebuilds nothing.
 */
export class DbtSnowflakeDeployer implements Deployer<DbtState, DbtPlan, DbtPrevious> {
  readonly kind = 'dbt' as const;

  constructor(private readonly props: DbtSnowflakeDeployerProps) {}

  private prefix(ctx: DeployContext): string {
    return `${DBT_S3_PATH}/${ctx.repo}/`;
  }

  private desired(ctx: DeployContext): DesiredObject[] {
    const dbt = ctx.release.dbt;
    const artifact = ctx.release.artifacts.find((a) => a.kind === 'dbt');
    if (!dbt || !artifact) return [];
    const prefix = this.prefix(ctx);
    return [
      { key: `${prefix}${MANIFEST_KEY}`, sha256: dbt.manifestSha256 },
      { key: `${prefix}${PROJECT_KEY}`, sha256: artifact.sha256 },
    ];
  }

  /** The release's project tarball and dbt manifest bytes. */
  private async releaseBytes(ctx: DeployContext): Promise<{ project: Buffer; manifest: Buffer } | null> {
    const dbt = ctx.release.dbt;
    const artifact = ctx.release.artifacts.find((a) => a.kind === 'dbt');
    if (!dbt || !artifact) return null;
    const files = await readReleaseFiles(ctx.release, ctx.releaseDir, 'dbt');
    const manifest = [...files.entries()].find(([p, b]) => p.endsWith('manifest.json') && sha256Hex(b) === dbt.manifestSha256)?.[1];
    if (!manifest) throw new DeployError(`the dbt tarball of release ${ctx.release.version} holds no manifest.json with sha256 ${dbt.manifestSha256}; package target/manifest.json with the dbt project`);
    return { project: fs.readFileSync(path.join(ctx.releaseDir, artifact.file)), manifest };
  }

  private async tableInfo(t: TableRef): Promise<TableInfo | null> {
    const rows = await this.props.sql.query(tableInfoSql(t.database), [t.schema.toUpperCase(), t.name.toUpperCase()]);
    if (rows.length === 0) return null;
    const r = rows[0];
    return { lastAltered: String(r.LAST_ALTERED), rowCount: r.ROW_COUNT === null || r.ROW_COUNT === undefined ? null : Number(r.ROW_COUNT), comment: r.COMMENT === null || r.COMMENT === undefined ? null : String(r.COMMENT) };
  }

  /**
   * ROW_COUNT of a live table now, null when it does not exist: the measure the deploy recorded for
   * each table before its swap (`previous.tables[].before.rowCount`), so the Verify's row-count gate
   * compares like with like.
   */
  async rowCount(t: TableRef): Promise<number | null> {
    return (await this.tableInfo(t))?.rowCount ?? null;
  }

  /** The manifest the environment runs: the one the last deploy published, or null before the first. */
  private async liveManifest(bucket: string, prefix: string): Promise<string | null> {
    return (await this.liveObject(bucket, `${prefix}${MANIFEST_KEY}`))?.toString('utf8') ?? null;
  }

  /** A published object's bytes, or null when there is none. */
  private async liveObject(bucket: string, key: string): Promise<Buffer | null> {
    try {
      return Buffer.from(await getObjectBytes(this.props.s3, bucket, key));
    } catch (e) {
      if ((e as { name?: string }).name === 'NoSuchKey' || (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return null;
      throw e;
    }
  }

  /**
   * After a restore put the earlier project back in place: re-creates, with `dbt run` of that project
   * in the live schemas, the views the replaced release re-created (a view holds no data, so this is
   * always safe). A view that is not a view of the restored project (the replaced release added it,
   * or made it one) is left as it is and named for a person. Returns the views re-created.
   */
  private async recreateViews(previous: DbtPrevious, ctx: DeployContext, forPerson: string[]): Promise<number> {
    const ids = previous.views ?? [];
    if (ids.length === 0 || !this.props.dbtEnvironment) return 0;
    const [project, manifest] = await Promise.all([this.liveObject(previous.bucket, `${previous.prefix}${PROJECT_KEY}`), this.liveObject(previous.bucket, `${previous.prefix}${MANIFEST_KEY}`)]);
    if (!project || !manifest) {
      forPerson.push(`view(s) ${ids.join(', ')} stay as release ${previous.releaseVersion} left them: s3://${previous.bucket}/${previous.prefix} holds no project to re-create them from (it was the first deploy)`);
      return 0;
    }
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dataops-dbt-restore-'));
    try {
      const environment = this.props.dbtEnvironment(ctx, workDir);
      const dir = writeDbtProject(await tarEntries(project), path.join(workDir, 'restored'), sha256Hex(manifest), `the dbt project restored to s3://${previous.bucket}/${previous.prefix}${PROJECT_KEY}`);
      const { nodes } = await environment.parse(dir, 'live');
      const views = ids.map((id) => nodes.get(id)).filter((n): n is ModelNode => n !== undefined && n.materialized === 'view');
      const left = ids.filter((id) => !views.some((v) => v.uniqueId === id));
      if (left.length > 0) forPerson.push(`${left.join(', ')}: not a view of the restored project, so it stays as release ${previous.releaseVersion} left it; drop it if it is no longer wanted`);
      if (views.length === 0) return 0;
      const out = await environment.run(dir, views);
      if (!out.ok) throw new DeployError(`dbt run of the restored project's views ${views.map((v) => v.name).join(', ')} in ${ctx.env} failed after the data restore: ${out.failures.join('; ')}`);
      ctx.log(`dbt: re-created ${views.length} view(s) from the restored project: ${views.map((v) => v.name).join(', ')}`);
      return views.length;
    } finally {
      fs.rmSync(workDir, { recursive: true, force: true });
    }
  }

  /** State comparison and dbt's relations of the selection (the dbt mode of {@link readCurrent}). */
  private async readWithDbt(ctx: DeployContext, bucket: string, prefix: string, objects: ObjectSet): Promise<DbtState> {
    const bytes = await this.releaseBytes(ctx);
    if (!bytes) return { bucket, prefix, objects, models: [], tables: {} };
    if (ctx.isRollback) {
      // A rollback's data side is the restore (swap back); rebuilding the earlier release's models on
      // tables a later load wrote to could duplicate an incremental model's rows (docs/rollback.md).
      ctx.log(`dbt: a rollback redeploy of ${ctx.release.version} builds no models; it republishes the project and manifest`);
      return { bucket, prefix, objects, models: [], tables: {} };
    }
    const live = await this.liveManifest(bucket, prefix);
    const selection = stateSelection(modelNodes(bytes.manifest.toString('utf8'), `the dbt manifest of release ${ctx.release.version}`), live === null ? null : modelNodes(live, `s3://${bucket}/${prefix}${MANIFEST_KEY}`));
    if (selection.selected.length === 0) return { bucket, prefix, objects, models: [], tables: {} };
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dataops-dbt-deploy-'));
    const environment = this.props.dbtEnvironment!(ctx, workDir);
    const projectDir = await extractDbtProject(ctx, path.join(workDir, 'release'));
    const liveParse = await environment.parse(projectDir, 'live');
    const buildParse = await environment.parse(projectDir, 'build');
    const models = selection.selected.map((id) => {
      const node = liveParse.nodes.get(id);
      const build = buildParse.nodes.get(id);
      if (!node || !build) throw new DeployError(`model ${id} of release ${ctx.release.version} is not in the manifest dbt parse wrote for ${ctx.env}; is it disabled for that target?`);
      return { node: { ...node, relation: { ...node.relation, database: node.relation.database || ctx.environment.snowflake.database } }, build: { ...build.relation, database: build.relation.database || ctx.environment.snowflake.database } };
    });
    const relations: ModelRelation[] = models
      .filter((m) => m.node.materialized === 'table' || m.node.materialized === 'incremental')
      .map((m) => ({ uniqueId: m.node.uniqueId, table: m.node.relation, materialized: m.node.materialized, compiledCode: null }));
    const tables: Record<string, TableInfo | null> = {};
    for (const m of relations) tables[m.uniqueId] = await this.tableInfo(m.table);
    ctx.log(
      `dbt: against the manifest ${ctx.env} runs${live === null ? ' (none yet: first deploy)' : ''}, ${selection.modified.length} model(s) modified, ${selection.selected.length} to build with their descendants: ${models.map((m) => m.node.name).join(', ')}` +
        (selection.removed.length ? `; ${selection.removed.length} model(s) no longer in the release keep their tables: ${selection.removed.join(', ')}` : ''),
    );
    return { bucket, prefix, objects, models: relations, tables, run: { environment, workDir, projectDir, selection, liveManifestFile: liveParse.manifestFile, models } };
  }

  async readCurrent(ctx: DeployContext): Promise<DbtState> {
    const bucket = this.props.artifactBucket;
    const prefix = this.prefix(ctx);
    const objects = await readObjectSet(this.props.s3, bucket, prefix);
    if (this.props.dbtEnvironment) return this.readWithDbt(ctx, bucket, prefix, objects);
    const bytes = ctx.release.dbt && ctx.release.dbt.modelsToRebuild.length > 0 ? await this.releaseBytes(ctx) : null;
    const models = bytes ? modelsToRebuild(bytes.manifest.toString('utf8'), ctx.release.dbt!.modelsToRebuild, ctx.environment.snowflake.database) : [];
    const tables: Record<string, TableInfo | null> = {};
    for (const m of models) tables[m.uniqueId] = await this.tableInfo(m.table);
    return { bucket, prefix, objects, models, tables };
  }

  plan(current: DbtState, ctx: DeployContext): DbtPlan {
    const done = releaseComment(ctx.repo, ctx.release.version);
    const objects = planObjectSet(current.objects, this.desired(ctx));
    const before = { objects: current.objects, tables: current.tables };
    if (current.run) {
      // dbt mode: build every selected table (a new one too) not already built by this release
      const rebuild = current.models.filter((m) => current.tables[m.uniqueId]?.comment !== done);
      const absent = rebuild.filter((m) => !current.tables[m.uniqueId]).map((m) => m.uniqueId);
      const views = current.run.models.filter((m) => m.node.materialized === 'view').map((m) => m.node);
      return { bucket: current.bucket, objects, rebuild, absent, before, run: { ...current.run, views } };
    }
    const rebuild = current.models.filter((m) => current.tables[m.uniqueId] && current.tables[m.uniqueId]!.comment !== done);
    const absent = current.models.filter((m) => !current.tables[m.uniqueId]).map((m) => m.uniqueId);
    return { bucket: current.bucket, objects, rebuild, absent, before };
  }

  async apply(plan: DbtPlan, ctx: DeployContext): Promise<ApplyResult<DbtPrevious>> {
    if (plan.run) {
      try {
        return await this.applyWithDbt(plan, plan.run, ctx);
      } finally {
        fs.rmSync(plan.run.workDir, { recursive: true, force: true });
      }
    }
    const { sql } = this.props;
    const { before } = plan;
    let writes = 0;
    let preDeployAt: string | null = null;
    const tables: SwappedTable[] = [];
    if (plan.rebuild.length > 0) {
      preDeployAt = String((await sql.query(currentTimestampSql()))[0]?.TS);
      ctx.log(`dbt: pre-deploy timestamp ${preDeployAt}`);
    }
    for (const m of plan.rebuild) {
      const watermark = before.tables[m.uniqueId];
      if (!watermark) continue;
      const build = buildTableOf(m.table, ctx.release.version);
      ctx.log(`dbt: rebuilding ${m.uniqueId} in a zero-copy clone ${build.name}`);
      await sql.query(cloneSql(build, m.table));
      await (this.props.builder ?? new CompiledSqlBuilder()).build(m, build, sql);
      await sql.query(commentSql(build, releaseComment(ctx.repo, ctx.release.version)));
      await sql.query(swapSql(m.table, build));
      writes += 4;
      const after = await this.tableInfo(m.table);
      tables.push({ uniqueId: m.uniqueId, table: m.table, keptAs: build, before: watermark, lastAlteredAfterSwap: after?.lastAltered ?? watermark.lastAltered });
    }
    const bytes = plan.objects.uploads.length > 0 ? await this.releaseBytes(ctx) : null;
    writes += await applyObjectSet(this.props.s3, plan.bucket, plan.objects, (o) => {
      if (!bytes) throw new DeployError(`no dbt artifacts in release ${ctx.release.version}`);
      return o.key.endsWith(MANIFEST_KEY) ? bytes.manifest : bytes.project;
    });
    const summary = `dbt: ${tables.length} model(s) rebuilt in a clone and swapped in, ${plan.objects.uploads.length} artifact(s) published to s3://${plan.bucket}/${this.prefix(ctx)}${plan.absent.length ? `; ${plan.absent.length} model(s) have no table yet and are left to the next dbt run: ${plan.absent.join(', ')}` : ''}`;
    ctx.log(summary);
    return { writes, summary, previous: { releaseVersion: ctx.release.version, bucket: plan.bucket, prefix: this.prefix(ctx), objects: before.objects, preDeployAt, tables } };
  }

  /**
   * dbt mode of {@link apply}: `dbt build` of the selected models and their tests into the build schema
   * (incremental models first get a clone of their live table, so they append to the live rows; refs
   * to models not selected resolve to the live relations), then, only when every model and test
   * passed, each built table swapped into its live place (or cloned there when it is new), the
   * selected views re-created in the live schemas, and last the project and manifest published: the
   * environment's scheduled runs use the new code only after the swap.
   */
  private async applyWithDbt(plan: DbtPlan, run: NonNullable<DbtPlan['run']>, ctx: DeployContext): Promise<ApplyResult<DbtPrevious>> {
    const { sql } = this.props;
    const { before } = plan;
    let writes = 0;
    let preDeployAt: string | null = null;
    const tables: SwappedTable[] = [];
    const created: TableRef[] = [];
    const done = releaseComment(ctx.repo, ctx.release.version);
    const buildOf = new Map(run.models.map((m) => [m.node.uniqueId, m.build]));
    const toBuild = run.models.filter((m) => m.node.materialized === 'view' || plan.rebuild.some((r) => r.uniqueId === m.node.uniqueId)).map((m) => m.node);
    if (toBuild.length > 0) {
      preDeployAt = String((await sql.query(currentTimestampSql()))[0]?.TS);
      ctx.log(`dbt: pre-deploy timestamp ${preDeployAt}`);
      for (const m of plan.rebuild) {
        if (m.materialized !== 'incremental' || !before.tables[m.uniqueId]) continue;
        const build = buildOf.get(m.uniqueId)!;
        await sql.query(createSchemaSql(build));
        await sql.query(cloneSql(build, m.table));
        writes += 2;
        ctx.log(`dbt: ${m.uniqueId} is incremental; its build starts from a clone of ${qualifiedName(m.table)}`);
      }
      const outcome = await run.environment.build(run.projectDir, toBuild, run.liveManifestFile);
      const tests = Object.keys(outcome.tests).length;
      if (!outcome.ok) {
        throw new DeployError(
          `dbt build of release ${ctx.release.version} in ${ctx.env} failed, so nothing was swapped in and ${ctx.env} runs what it ran before: ${outcome.failures.slice(0, 5).join('; ')}${outcome.failures.length > 5 ? ` (and ${outcome.failures.length - 5} more)` : ''}. The build is left in the schemas of ${run.models[0]?.build.schema ?? 'the build output'} for inspection`,
        );
      }
      ctx.log(`dbt: built ${toBuild.length} model(s) in the build schema, ${tests} test(s) passed there`);
      for (const m of plan.rebuild) {
        const build = buildOf.get(m.uniqueId)!;
        await sql.query(commentSql(build, done));
        const watermark = before.tables[m.uniqueId];
        if (watermark) {
          await sql.query(swapSql(m.table, build));
          writes += 2;
          const after = await this.tableInfo(m.table);
          tables.push({ uniqueId: m.uniqueId, table: m.table, keptAs: build, before: watermark, lastAlteredAfterSwap: after?.lastAltered ?? watermark.lastAltered });
          ctx.log(`dbt: swapped ${qualifiedName(m.table)} with its build; the previous data is kept in ${qualifiedName(build)}`);
        } else {
          await sql.query(createSchemaSql(m.table));
          await sql.query(cloneSql(m.table, build));
          await sql.query(commentSql(m.table, done));
          writes += 4;
          created.push(m.table);
          ctx.log(`dbt: created ${qualifiedName(m.table)} from its build`);
        }
      }
      if (run.views.length > 0) {
        const views = await run.environment.run(run.projectDir, run.views);
        if (!views.ok) throw new DeployError(`dbt run of the views of release ${ctx.release.version} in ${ctx.env} failed after the tables were swapped in (roll back to restore them): ${views.failures.join('; ')}`);
        writes += run.views.length;
        ctx.log(`dbt: re-created ${run.views.length} view(s) in the live schemas: ${run.views.map((v) => v.name).join(', ')}`);
      }
    }
    const bytes = plan.objects.uploads.length > 0 ? await this.releaseBytes(ctx) : null;
    writes += await applyObjectSet(this.props.s3, plan.bucket, plan.objects, (o) => {
      if (!bytes) throw new DeployError(`no dbt artifacts in release ${ctx.release.version}`);
      return o.key.endsWith(MANIFEST_KEY) ? bytes.manifest : bytes.project;
    });
    const summary = `dbt: ${run.selection.modified.length} model(s) modified against ${ctx.env}, ${toBuild.length} built with dbt and tested, ${tables.length} table(s) swapped in, ${created.length} created, ${run.views.length} view(s) re-created, ${plan.objects.uploads.length} artifact(s) published to s3://${plan.bucket}/${this.prefix(ctx)}`;
    ctx.log(summary);
    return { writes, summary, previous: { releaseVersion: ctx.release.version, bucket: plan.bucket, prefix: this.prefix(ctx), objects: before.objects, preDeployAt, tables, created, views: run.views.map((v) => v.uniqueId), built: toBuild.map((m) => ({ uniqueId: m.uniqueId, selector: fqnSelector(m) })) } };
  }

  /** Published artifacts and the tables the plan rebuilds, as recorded before any change. */
  previousOf(current: DbtState, plan: DbtPlan, ctx: DeployContext): DbtPrevious {
    const tables = plan.rebuild
      .filter((m) => current.tables[m.uniqueId])
      .map((m) => ({ uniqueId: m.uniqueId, table: m.table, keptAs: buildTableOf(m.table, ctx.release.version), before: current.tables[m.uniqueId]!, lastAlteredAfterSwap: null }));
    return { releaseVersion: ctx.release.version, bucket: current.bucket, prefix: current.prefix, objects: current.objects, preDeployAt: null, tables };
  }

  async verify(ctx: DeployContext): Promise<{ ok: boolean; problems: string[] }> {
    const current = await this.readCurrent(ctx);
    const plan = this.plan(current, ctx);
    if (current.run) fs.rmSync(current.run.workDir, { recursive: true, force: true });
    const problems = [
      ...plan.objects.uploads.map((u) => `s3://${current.bucket}/${u.key} does not hold sha256 ${u.sha256} of release ${ctx.release.version}`),
      ...plan.objects.deletes.map((d) => `s3://${current.bucket}/${d} is not part of release ${ctx.release.version}`),
      ...plan.rebuild.map((m) => `${m.table.database}.${m.table.schema}.${m.table.name}`.toUpperCase() + ` was not rebuilt by release ${ctx.release.version}`),
    ];
    return { ok: problems.length === 0, problems };
  }

  /**
   * Puts the published artifacts back byte for byte and restores the data of each swapped table,
   * but only while no load has landed since the swap (LAST_ALTERED unchanged): then it swaps back
   * to the kept table (undropping it from Time Travel first if someone dropped it). Tables where a
   * load landed, or where that cannot be told, keep their data; `forPerson` names them with the times.
   * Then the views the release re-created are re-created from the restored project (with dbt).
   */
  async restore(previous: DbtPrevious, ctx: DeployContext): Promise<ApplyResult<DbtPrevious>> {
    const { sql } = this.props;
    const forPerson: string[] = [];
    let writes = 0;
    const failed = releaseComment(ctx.repo, previous.releaseVersion);
    for (const t of previous.tables) {
      const name = `${t.table.database}.${t.table.schema}.${t.table.name}`.toUpperCase();
      const now = await this.tableInfo(t.table);
      if (!now || now.comment !== failed) continue;
      const kept = await this.tableInfo(t.keptAs);
      const swappedAt = t.lastAlteredAfterSwap ?? kept?.lastAltered ?? null;
      if (swappedAt === null || now.lastAltered > swappedAt) {
        const what =
          swappedAt === null
            ? `it was last altered at ${now.lastAltered} and the time release ${previous.releaseVersion} swapped it in is unknown (its kept table is gone), so a later load cannot be ruled out; its data was kept. `
            : `a load landed at ${now.lastAltered}, after release ${previous.releaseVersion} swapped it in at ${swappedAt}; its data was kept. `;
        forPerson.push(
          `${name}: ${what}` +
            `The data from before the deploy (as of ${previous.preDeployAt ?? t.before.lastAltered}, watermark ${t.before.lastAltered}) is in ${t.keptAs.name.toUpperCase()}; to restore it and lose that load: ${swapSql(t.table, t.keptAs)}`,
        );
        continue;
      }
      if (!kept) {
        // Someone dropped the kept table: bring it back from Time Travel (within the retention period).
        try {
          await sql.query(undropSql(t.keptAs));
          writes++;
        } catch (e) {
          forPerson.push(`${name}: the table holding its previous data (${t.keptAs.name.toUpperCase()}) is gone and cannot be undropped (${(e as Error).message}); its data as of ${previous.preDeployAt ?? t.before.lastAltered} must be restored by hand`);
          continue;
        }
      }
      await sql.query(swapSql(t.table, t.keptAs));
      writes++;
      ctx.log(`dbt: restored the data of ${name} as of before release ${previous.releaseVersion}`);
    }
    const current = await readObjectSet(this.props.s3, previous.bucket, previous.prefix);
    const objectPlan = planRestore(current, previous.objects);
    writes += await restoreObjectSet(this.props.s3, previous.bucket, current, previous.objects);
    const tablesLeft = forPerson.length;
    const views = await this.recreateViews(previous, ctx, forPerson);
    writes += views;
    const summary = `dbt: ${objectPlan.copies.length + objectPlan.deletes.length} artifact(s) restored, ${previous.tables.length - tablesLeft} table(s) checked for data restore${tablesLeft ? `, ${tablesLeft} left for a person` : ''}, ${views} view(s) re-created`;
    ctx.log(summary);
    return { writes, summary, forPerson, previous: { releaseVersion: previous.releaseVersion, bucket: previous.bucket, prefix: previous.prefix, objects: current, preDeployAt: null, tables: [] } };
  }
}

const qualifiedName = (t: TableRef): string => `${t.database}.${t.schema}.${t.name}`.toUpperCase();
