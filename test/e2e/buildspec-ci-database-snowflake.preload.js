// Loaded with NODE_OPTIONS=--require into the `dataops` processes of test/e2e/buildspec-ci-database.test.ts:
// Snowflake is not reachable from tests, so the connection `dataops ci-database` opens
// (SnowflakeSqlClient.connect, after it read the CI user's secret from moto) is the behavioural
// Snowflake model of test/helpers/snowflake-model.ts holding the source database. Each process
// appends to the JSON-lines file DATAOPS_TEST_SNOWFLAKE_LOG its arguments, the CI target variables
// it was started with (and whether the key file existed then), and every statement it sent.
require('tsx/cjs');
const fs = require('fs');
const { SnowflakeSqlClient } = require('../../lib/runtime/snowflake/sql-client.ts');
const { SnowflakeModel } = require('../helpers/snowflake-model.ts');

const log = process.env.DATAOPS_TEST_SNOWFLAKE_LOG;
if (!log) throw new Error('DATAOPS_TEST_SNOWFLAKE_LOG is not set; the preload needs the log file the test reads');
const record = (entry) => fs.appendFileSync(log, `${JSON.stringify(entry)}\n`);
const key = process.env.SNOWFLAKE_PRIVATE_KEY_PATH;
record({ argv: process.argv.slice(2), DBT_CI_DATABASE: process.env.DBT_CI_DATABASE ?? null, keyFile: key ? fs.existsSync(key) : null });
SnowflakeSqlClient.connect = async (props) => {
  const model = new SnowflakeModel();
  model.createTable(`${props.database}.ANALYTICS.FCT_DAILY_VISITS`, [{ ID: 1 }]);
  const query = model.query.bind(model);
  model.query = async (sql, binds) => {
    record({ sql });
    return query(sql, binds);
  };
  return model;
};
