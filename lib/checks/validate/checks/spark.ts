import * as fs from 'fs';
import * as path from 'path';
import type { Check, CheckContext, CheckResult } from '../check';
import { changedUnder } from '../scope';
import { runPytest } from './pytest';

/**
 * JVM settings for short local Spark sessions: the serial collector and the C1 compiler only. On a
 * 2-core machine they cut session start and the first job from ~45 s to ~13 s.
 */
export const SPARK_TEST_JAVA_OPTIONS = '-XX:+UseSerialGC -XX:TieredStopAtLevel=1';

/** The Spark jobs' pytest suite on a local PySpark session (Java 17). */
export const sparkTestCheck: Check = {
  name: 'spark-tests',
  kinds: ['spark'],
  order: 60,
  applies: (ctx) => fs.existsSync(path.join(ctx.repo.root, ctx.repo.sparkTestsDir)),
  async run(ctx: CheckContext): Promise<CheckResult> {
    const jobsDir = ctx.repo.paths.spark ?? 'jobs';
    const touched = [...changedUnder(ctx.scope, jobsDir), ...changedUnder(ctx.scope, ctx.repo.sparkTestsDir)];
    if (!ctx.scope.full && touched.length === 0) {
      return { findings: [], skip: { check: 'spark-tests', kind: 'spark', reason: `no file under ${jobsDir}/ or ${ctx.repo.sparkTestsDir}/ changed` } };
    }
    const findings = await runPytest(ctx, {
      venv: 'spark',
      paths: [ctx.repo.sparkTestsDir],
      code: 'SPARK_TEST_FAILED',
      assetPrefix: 'spark',
      tag: 'spark',
      env: {
        SPARK_LOCAL_IP: '127.0.0.1',
        PYSPARK_PYTHON: ctx.tools.resolve('spark', 'python'),
        JAVA_TOOL_OPTIONS: [process.env.JAVA_TOOL_OPTIONS, SPARK_TEST_JAVA_OPTIONS].filter(Boolean).join(' '),
      },
    });
    return { findings, selection: { check: 'spark-tests', kind: 'spark', assets: ctx.scope.full ? ['*'] : touched, reason: ctx.scope.reason } };
  },
};
