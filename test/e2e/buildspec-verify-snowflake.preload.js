// Loaded with NODE_OPTIONS=--require into the `dataops` processes of test/e2e/buildspec-verify.test.ts:
// Snowflake is not reachable from tests, so the connection the dbt/Snowflake deployer factory opens
// (SnowflakeSqlClient.connect, after it read the deploy secret from moto) is the behavioural
// Snowflake model of test/helpers/snowflake-model.ts, holding the tables of the JSON file in
// DATAOPS_TEST_SNOWFLAKE_STATE ({"tables": [{"name": "DB.SCHEMA.TABLE", "rows": [...], "comment": ...}]}),
// i.e. the account as the in-test deploy left it. Everything else in the process is the real code.
require('tsx/cjs');
const fs = require('fs');
const { SnowflakeSqlClient } = require('../../lib/runtime/snowflake/sql-client.ts');
const { SnowflakeModel } = require('../helpers/snowflake-model.ts');

const file = process.env.DATAOPS_TEST_SNOWFLAKE_STATE;
if (!file) throw new Error('DATAOPS_TEST_SNOWFLAKE_STATE is not set; the preload needs the Snowflake state file the test wrote');
SnowflakeSqlClient.connect = async () => {
  const model = new SnowflakeModel();
  for (const t of JSON.parse(fs.readFileSync(file, 'utf8')).tables) model.createTable(t.name, t.rows, t.comment);
  return model;
};
