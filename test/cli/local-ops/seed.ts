/**
 * Seeds a deployment history into moto for trying the operations commands locally
 * (docs/operations.md, "Try it locally against moto"; test/cli/local-ops.test.ts runs that recipe).
 *
 * Usage: npx tsx test/cli/local-ops/seed.ts http://127.0.0.1:5000
 *
 * Creates, in moto: a ledger table laid out as the tooling stack's, an Object Lock audit bucket, and
 * one CodePipeline pipeline per repo below (the one the commands look up by name). The history is
 * written by the runtime's own code, as a deployed platform writes it: Promote's and the deployers'
 * ledger records, the Recorder for stage and approval events (CURRENT, locks, Object Lock evidence),
 * the Rollback handler for one rollback. Only while seeding, CodePipeline's side of that history
 * (executions, approvers) comes from the protocol fake of test/helpers, since moto has no stage
 * state. Prints `export LEDGER_TABLE=… AUDIT_BUCKET=…` for the shell to eval.
 */
import { CreatePipelineCommand, CodePipelineClient } from '@aws-sdk/client-codepipeline';
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { CodePipelineFake } from '../../helpers/codepipeline-fake';
import { PlatformHistory } from '../../ops/helpers/platform-history';

/** The repos the seeded history covers (repos of the embedded config/northstar.yaml). */
export const SEEDED_REPOS = ['orchestration', 'dbt-core-models'] as const;

/** Creates the pipelines in moto that the commands call (ListPipelineExecutions) by their platform names. */
async function createMotoPipelines(endpoint: string, names: readonly string[]): Promise<void> {
  const creds = { region: 'us-east-1', endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } };
  const roleName = `seed-pipeline-role-${process.pid}`;
  const role = await new IAMClient(creds).send(
    new CreateRoleCommand({
      RoleName: roleName,
      AssumeRolePolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'codepipeline.amazonaws.com' }, Action: 'sts:AssumeRole' }] }),
    }),
  );
  const cp = new CodePipelineClient(creds);
  for (const name of names) {
    await cp.send(
      new CreatePipelineCommand({
        pipeline: {
          name,
          roleArn: role.Role!.Arn!,
          artifactStore: { type: 'S3', location: `${name}-artifacts` },
          stages: [
            { name: 'Source', actions: [{ name: 'Source', actionTypeId: { category: 'Source', owner: 'AWS', provider: 'S3', version: '1' }, outputArtifacts: [{ name: 'src' }], configuration: { S3Bucket: 'b', S3ObjectKey: 'k' } }] },
            { name: 'Dev', actions: [{ name: 'Deploy', actionTypeId: { category: 'Build', owner: 'AWS', provider: 'CodeBuild', version: '1' }, inputArtifacts: [{ name: 'src' }], configuration: { ProjectName: 'p' } }] },
          ],
        },
      }),
    );
  }
}

export async function seed(endpoint: string): Promise<{ ledgerTable: string; auditBucket: string }> {
  process.env.DATAOPS_TEST_MOTO_ENDPOINT = endpoint;
  const fake = new CodePipelineFake();
  await fake.start();
  try {
    const h = await PlatformHistory.create(fake, [...SEEDED_REPOS]);
    await createMotoPipelines(endpoint, SEEDED_REPOS.map((r) => h.pipelines[r]));
    // orchestration: two good releases in prod, then one that failed in prod (prod still runs the second)
    await h.release({ repo: 'orchestration', version: '20260302.1+aaa1111', prodAt: '2026-03-02T10:00:00.000Z', commitAt: '2026-03-01T16:00:00.000Z' });
    await h.release({ repo: 'orchestration', version: '20260305.2+bbb2222', prodAt: '2026-03-05T10:00:00.000Z', commitAt: '2026-03-04T15:00:00.000Z' });
    await h.release({ repo: 'orchestration', version: '20260309.3+ccc3333', prodAt: '2026-03-09T10:00:00.000Z', prodOutcome: 'failed', commitAt: '2026-03-08T12:00:00.000Z' });
    // dbt-core-models: a release that was rolled back by on-call an hour after it reached prod
    await h.release({ repo: 'dbt-core-models', version: '20260303.1+ddd4444', prodAt: '2026-03-03T11:00:00.000Z', commitAt: '2026-03-02T18:00:00.000Z' });
    await h.release({ repo: 'dbt-core-models', version: '20260306.2+eee5555', prodAt: '2026-03-06T11:00:00.000Z', commitAt: '2026-03-05T17:00:00.000Z' });
    await h.rollback({ repo: 'dbt-core-models', at: '2026-03-06T12:00:00.000Z', reason: 'row counts of stg_claims halved', requestedBy: 'arn:aws:iam::111111111111:user/oncall' });
    return { ledgerTable: h.tableName, auditBucket: h.auditBucket };
  } finally {
    await fake.stop();
  }
}

if (require.main === module) {
  const endpoint = process.argv[2];
  if (!endpoint || !/^https?:\/\//.test(endpoint)) {
    process.stderr.write('usage: npx tsx test/cli/local-ops/seed.ts <moto endpoint, e.g. http://127.0.0.1:5000>\n');
    process.exit(2);
  }
  seed(endpoint).then(
    (s) => process.stdout.write(`export LEDGER_TABLE=${s.ledgerTable} AUDIT_BUCKET=${s.auditBucket}\n`),
    (e: Error) => {
      process.stderr.write(`seed: ${e.message}\n`);
      process.exit(1);
    },
  );
}
