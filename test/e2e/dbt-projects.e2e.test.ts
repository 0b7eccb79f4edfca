import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runValidate, type ValidateReport } from '../../lib/checks/validate/runner';
import { PROJECT_ROOT } from '../../lib/checks/validate/toolchain';

// End-to-end: `dataops validate` (runValidate, the code of the PR buildspec) with the real dbt-core,
// dbt-duckdb and sqlfluff of .venv/dbt on small dbt projects as people write them: nested in the repo,
// a stock dbt-duckdb profile (target dev, a relative `path:`), a parse error, with and without a
// sqlfluff configuration. Every run must leave the work tree exactly as it was (git status).
jest.setTimeout(600_000);

const gitEnv = { ...process.env, GIT_AUTHOR_NAME: 'e2e', GIT_AUTHOR_EMAIL: 'e2e@example.org', GIT_COMMITTER_NAME: 'e2e', GIT_COMMITTER_EMAIL: 'e2e@example.org' };
const git = (dir: string, args: string[]) => execFileSync('git', args, { cwd: dir, env: gitEnv, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** A git repo holding a copy of test/fixtures/NAME on main, checked out on branch pr. */
function fixtureRepo(name: string, replace: Record<string, string> = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `dataops-${name}-`));
  fs.cpSync(path.join(PROJECT_ROOT, 'test', 'fixtures', name), dir, { recursive: true });
  for (const [f, text] of Object.entries(replace)) fs.writeFileSync(path.join(dir, f), text);
  git(dir, ['init', '-q', '-b', 'main']);
  git(dir, ['add', '-A']);
  git(dir, ['commit', '-q', '-m', 'base']);
  git(dir, ['checkout', '-q', '-b', 'pr']);
  return dir;
}

function commitEdit(dir: string, file: string, text: string): void {
  fs.writeFileSync(path.join(dir, file), text);
  git(dir, ['add', '-A']);
  git(dir, ['commit', '-q', '-m', `edit ${file}`]);
}

/** Untracked, ignored or changed files of the work tree (empty when the run wrote nothing into it). */
const dirty = (dir: string) => git(dir, ['status', '--porcelain', '--ignored']).split('\n').filter(Boolean);

const where = (r: ValidateReport) => r.findings.map((f) => `${f.severity} ${f.code}@${f.file ?? f.asset}${f.line ? `:${f.line}` : ''}`).sort();

describe('dataops validate on dbt projects as people write them', () => {
  const dirs: string[] = [];
  const repo = (name: string, replace: Record<string, string> = {}) => {
    const d = fixtureRepo(name, replace);
    dirs.push(d);
    return d;
  };
  let cache: string;
  const saved = process.env.DATAOPS_CACHE_DIR;
  beforeAll(() => {
    cache = fs.mkdtempSync(path.join(os.tmpdir(), 'dataops-dbt-cache-'));
    process.env.DATAOPS_CACHE_DIR = cache;
  });
  afterAll(() => {
    if (saved === undefined) delete process.env.DATAOPS_CACHE_DIR;
    else process.env.DATAOPS_CACHE_DIR = saved;
    for (const d of [...dirs, cache]) fs.rmSync(d, { recursive: true, force: true });
  });

  it('checks a dbt project nested in the repo, with no dataops.yaml and no profile, by parsing it offline', async () => {
    // GIVEN a repo whose only dbt project is warehouse/analytics, without profiles.yml
    const dir = repo('dbt-nested');
    // WHEN validate runs on the whole repo
    const report = await runValidate({ repoDir: dir });
    // THEN the dbt check ran on that project, parsing it with the offline profile, and nothing blocks
    // (sqlfluff's default rules give advisory warnings only: the repo has no sqlfluff configuration)
    expect(where(report).filter((w) => !w.startsWith('warning SQL_LINT@warehouse/analytics/models/'))).toEqual([]);
    expect(report.passed).toBe(true);
    const dbt = report.selected.find((s) => s.check === 'dbt');
    expect(dbt?.reason).toMatch(/^warehouse\/analytics: dbt parse only, with the offline profile \(no profiles\.yml in .*\)/);
    // AND the work tree is untouched
    expect(dirty(dir)).toEqual([]);
  });

  it('fails a nested project with a broken ref at the ref, through the same offline parse', async () => {
    // GIVEN the nested project with a ref to a model that does not exist
    const dir = repo('dbt-nested');
    commitEdit(dir, 'warehouse/analytics/models/customer_orders.sql', "select customer_id, count(*) as orders\nfrom {{ ref('stg_order') }}\ngroup by customer_id\n");
    // WHEN validate runs against main
    const report = await runValidate({ repoDir: dir, base: 'main' });
    // THEN the finding is the missing ref, at its line in the nested project's file
    expect(where(report).filter((w) => w.startsWith('error'))).toEqual(['error DBT_REF_MISSING@warehouse/analytics/models/customer_orders.sql:2']);
    expect(dirty(dir)).toEqual([]);
  });

  it('builds a stock dbt-duckdb project (target dev, relative path) in full, and its style findings are advisory without a sqlfluff configuration', async () => {
    // GIVEN a project whose profile has only target dev, with `path: shop.duckdb`, and no .sqlfluff;
    // stg_orders.sql mixes upper- and lower-case keywords (`SELECT` on line 1, `from` on line 2)
    const dir = repo('dbt-stock-duckdb');
    // WHEN validate runs on the whole repo
    const report = await runValidate({ repoDir: dir });
    // THEN dbt built and tested the project with the repo's target dev (no 'local' target needed)
    expect(report.findings.filter((f) => f.severity === 'error')).toEqual([]);
    expect(report.selected.find((s) => s.check === 'dbt')?.reason).toBe('no --base given: full run');
    // AND the keyword case finding is a warning that says why it does not block, like every style finding
    expect(where(report).every((w) => w.startsWith('warning SQL_LINT@models/'))).toBe(true);
    const cp01 = report.findings.find((f) => f.file === 'models/stg_orders.sql' && f.message.startsWith('CP01'));
    expect(cp01).toMatchObject({ severity: 'warning', line: 2 });
    expect(cp01?.message).toMatch(/advisory: the repo has no sqlfluff configuration/);
    expect(report.passed).toBe(true);
    // AND nothing was written next to the project (no shop.duckdb, target/, logs/)
    expect(dirty(dir)).toEqual([]);
  });

  it('runs a change-scoped build of a stock dbt-duckdb project, deferring to the base environment it builds', async () => {
    // GIVEN a PR that changes one model of the stock project
    const dir = repo('dbt-stock-duckdb');
    commitEdit(dir, 'models/customer_totals.sql', "select customer_id, sum(amount) as total_amount, count(*) as orders\nfrom {{ ref('stg_orders') }}\ngroup by customer_id\n");
    // WHEN validate runs against main
    const report = await runValidate({ repoDir: dir, base: 'main' });
    // THEN only the changed model was built, deferring to the base environment, and it passed
    expect(report.findings.filter((f) => f.severity === 'error')).toEqual([]);
    const dbt = report.selected.find((s) => s.check === 'dbt');
    expect(dbt?.reason).toMatch(/^state:modified\+ against main/);
    expect(dbt?.assets).toEqual(['model.stock_shop.customer_totals']);
    expect(dirty(dir)).toEqual([]);
  });

  it('runs a change-scoped check of a project on a Snowflake profile without credentials: parses it offline, says why, and blocks a broken ref', async () => {
    // GIVEN the stock project with a Snowflake-only profile (target prod, credentials from variables
    // that are not set), and a PR that breaks a ref
    const saved = { account: process.env.SNOWFLAKE_ACCOUNT, target: process.env.DATAOPS_DBT_TARGET };
    delete process.env.SNOWFLAKE_ACCOUNT;
    delete process.env.DATAOPS_DBT_TARGET;
    try {
      const dir = repo('dbt-stock-duckdb', {
        'profiles.yml': "stock_shop:\n  target: prod\n  outputs:\n    prod:\n      type: snowflake\n      account: \"{{ env_var('SNOWFLAKE_ACCOUNT') }}\"\n      user: transformer\n      database: analytics\n      warehouse: transforming\n      schema: shop\n",
      });
      commitEdit(dir, 'models/customer_totals.sql', "select customer_id, sum(amount) as total_amount\nfrom {{ ref('stg_order') }}\ngroup by customer_id\n");
      // WHEN validate runs against main
      const report = await runValidate({ repoDir: dir, base: 'main' });
      // THEN dbt parsed the project with the offline profile (target prod), says why, and the broken ref blocks
      const dbt = report.selected.find((s) => s.check === 'dbt');
      expect(dbt?.reason).toMatch(/^dbt parse only, with the offline profile \(output 'prod' of profile 'stock_shop' \(snowflake\) needs SNOWFLAKE_ACCOUNT, which is not set\)/);
      expect(where(report).filter((w) => w.startsWith('error'))).toEqual(['error DBT_REF_MISSING@models/customer_totals.sql:2']);
      expect(dirty(dir)).toEqual([]);
    } finally {
      if (saved.account !== undefined) process.env.SNOWFLAKE_ACCOUNT = saved.account;
      if (saved.target !== undefined) process.env.DATAOPS_DBT_TARGET = saved.target;
    }
  });

  it('fails a SQL file that does not parse even without a sqlfluff configuration', async () => {
    // GIVEN the stock project (no .sqlfluff) with a model sqlfluff cannot parse
    const dir = repo('dbt-stock-duckdb');
    commitEdit(dir, 'models/customer_totals.sql', "select customer_id, sum(amount) as total_amount\nfrom {{ ref('stg_orders') }}\ngroup customer_id\n");
    // WHEN validate runs against main
    const report = await runValidate({ repoDir: dir, base: 'main' });
    // THEN the parse error blocks, at its line
    expect(where(report).filter((w) => w.startsWith('error SQL'))).toEqual(['error SQL_PARSE@models/customer_totals.sql:3']);
    expect(report.passed).toBe(false);
  });

  it('fails a project that does not parse with the reason dbt gives, not only its heading', async () => {
    // GIVEN a model with a Jinja syntax error (and no profiles.yml)
    const dir = repo('dbt-parse-error');
    // WHEN validate runs on the whole repo
    const report = await runValidate({ repoDir: dir });
    // THEN the finding names the model's file and says what is wrong in it
    const parse = report.findings.filter((f) => f.code === 'DBT_PARSE_ERROR');
    expect(parse.map((f) => f.file)).toEqual(['models/broken_model.sql']);
    expect(parse[0].message).toMatch(/Compilation Error in model broken_model \(models\/broken_model\.sql\) \/ unexpected '\}', expected '\)'/);
    expect(dirty(dir)).toEqual([]);
  });

  it("lints with the repo's sqlfluff configuration: its dialect (not Snowflake's) and its rules, which block", async () => {
    // GIVEN a project whose .sqlfluff sets dialect duckdb and lower-case keywords, with a model using
    // DuckDB's GROUP BY ALL, and a PR that upper-cases one keyword
    const dir = repo('dbt-sqlfluff-config');
    commitEdit(dir, 'models/stg_orders.sql', "select order_id, customer_id, amount\nFROM {{ ref('raw_orders') }}\n");
    // WHEN validate runs on the whole repo
    const report = await runValidate({ repoDir: dir });
    // THEN the only finding is the configured rule, blocking; GROUP BY ALL parses in the repo's dialect
    expect(where(report)).toEqual(['error SQL_LINT@models/stg_orders.sql:2']);
    expect(report.findings[0].message).toMatch(/^CP01 Keywords must be lower case/);
    expect(report.selected.find((s) => s.check === 'sqlfluff')?.reason).toMatch(/the repo's sqlfluff configuration \(\.sqlfluff\)/);
    expect(dirty(dir)).toEqual([]);
  });
});
