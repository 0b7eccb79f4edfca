import * as fs from 'fs';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { ENVIRONMENT_NAMES } from '../../lib/config/schema';
import { listDags, listImportErrors } from '../../lib/runtime/mwaa/airflow-commands';
import { MwaaCliClient } from '../../lib/runtime/mwaa/cli-client';
import { Rehearsal, type ExecutionResult } from '../../tools/rehearsal/rehearse';
import { CodePipelineFake } from '../helpers/codepipeline-fake';
import { motoTargetOf, rehearsalConfig, startMwaaEnvironments, synthRehearsalAssembly, type MwaaEnvironments } from '../helpers/rehearsal';
import { startMoto, type LocalServer } from '../helpers/servers';
import { SampleRepo } from './helpers';

// The pipeline rehearsal on the Airflow sample (repo clinic-dags of config/rehearsal.yaml): the
// pipeline `cdk synth` wrote runs whole, Source → Validate → Package → Dev → Staging → Prod, against
// moto, the CodePipeline job API stand-in and one MWAA stand-in per environment running real Airflow.
// Each assertion reads what is live in an environment: its DAG bucket and its Airflow.
jest.setTimeout(1_500_000);

const repo = 'clinic-dags';
const config = rehearsalConfig();

describe('rehearsal of the clinic-dags pipeline', () => {
  let moto: LocalServer;
  const codepipeline = new CodePipelineFake();
  let assembly: string;
  let mwaa: MwaaEnvironments;
  let sample: SampleRepo;
  let rehearsal: Rehearsal;
  let first: ExecutionResult;
  const lines: string[] = [];

  // GIVEN the synthesized rehearsal platform, its stand-ins, and the sample committed in git
  beforeAll(async () => {
    assembly = synthRehearsalAssembly();
    moto = await startMoto();
    const aws = await Rehearsal.enforceIam(assembly, motoTargetOf(moto));
    await codepipeline.start();
    mwaa = await startMwaaEnvironments(aws, config);
    sample = new SampleRepo('airflow-dags');
    rehearsal = await Rehearsal.prepare({ assemblyDir: assembly, repo, aws, enforceIam: true, codepipeline, endpoints: { AWS_ENDPOINT_URL_MWAA: mwaa.endpoint }, log: (l) => lines.push(l) });
    // WHEN the first release runs from commit to prod
    first = await rehearsal.run({ sourceDir: sample.dir });
  });
  afterAll(async () => {
    await mwaa?.stop();
    await codepipeline.stop();
    await moto?.stop();
    sample?.remove();
    if (assembly) fs.rmSync(assembly, { recursive: true, force: true });
  });

  it('runs every stage of the synthesized pipeline and succeeds', () => {
    // THEN the execution succeeded in every stage, in the synthesized order
    expect({ status: first.status, failure: first.failure, log: first.status === 'Succeeded' ? [] : lines }).toEqual({ status: 'Succeeded', failure: undefined, log: [] });
    expect(Object.entries(first.stages)).toEqual(['Source', 'Validate', 'Package', 'Dev', 'Staging', 'Prod'].map((s) => [s, 'Succeeded']));
    // AND every action of the template ran: one Validate per kind, Promote, Deploy, Verify in each environment
    expect(first.actions.map((a) => `${a.stage}/${a.action}`)).toEqual([
      'Source/Source',
      'Validate/Validate-airflow',
      'Validate/Validate-python',
      'Package/Package',
      'Dev/Promote',
      'Dev/Deploy',
      'Dev/Verify',
      'Staging/Approve',
      'Staging/Promote',
      'Staging/Deploy',
      'Staging/Verify',
      'Prod/Approve',
      'Prod/Promote',
      'Prod/Deploy',
      'Prod/Verify',
    ]);
  });

  it('shows each approver the release version, its asset count, manifest sha256 and commit, resolved', () => {
    const pkg = first.variables.Package;
    expect(pkg.RELEASE_VERSION).toMatch(/^\d{8}\.1\+[0-9a-f]{7}/);
    for (const approval of first.approvals) {
      expect(approval.customData).toContain(`release ${pkg.RELEASE_VERSION} (${pkg.RELEASE_ASSETS} assets, manifest sha256 ${pkg.RELEASE_MANIFEST_SHA256}, commit ${first.variables.SourceVariables.CommitId})`);
      expect(approval.customData).not.toMatch(/#\{/);
    }
    expect(first.approvals.map((a) => a.stage)).toEqual(['Staging', 'Prod']);
  });

  it.each(ENVIRONMENT_NAMES)('leaves the release live in %s: the DAG files under dags/clinic_dags/ and the DAGs imported by Airflow', async (env) => {
    const e = config.environments[env];
    const s3 = await mwaa.s3(env);
    // THEN the environment's DAG bucket holds the repo's DAG folder as MWAA loads it
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: e.mwaa.dagBucket, Prefix: 'dags/clinic_dags/' }));
    const keys = (listed.Contents ?? []).map((o) => o.Key!).filter((k) => !k.includes('/.dataops/'));
    expect(keys).toEqual(expect.arrayContaining(['dags/clinic_dags/clinic_report.py', 'dags/clinic_dags/ingest_visits.py', 'dags/clinic_dags/dbt_daily.py', 'dags/clinic_dags/common/defaults.py']));
    // AND the environment's Airflow imports them without errors
    const cli = new MwaaCliClient({ mwaa: mwaa.fakes[env].mwaaClient(), environmentName: e.mwaa.environmentName, scheme: 'http' });
    expect(await listImportErrors(cli)).toEqual([]);
    expect((await listDags(cli)).map((d) => d.dagId)).toEqual(expect.arrayContaining(['clinic_report', 'dbt_daily', 'ingest_visits']));
  });
});
