import { RemovalPolicy } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

/** Days every platform log group keeps its events: the HIPAA minimum of six years is met by the audit bucket, so logs keep one year. */
export const LOG_RETENTION = logs.RetentionDays.ONE_YEAR;

/** A CloudWatch log group encrypted with the platform CMK, with the platform's retention, kept on stack deletion. */
export function encryptedLogGroup(scope: Construct, id: string, props: { encryptionKey: kms.IKey; logGroupName?: string }): logs.LogGroup {
  return new logs.LogGroup(scope, id, {
    logGroupName: props.logGroupName,
    encryptionKey: props.encryptionKey,
    retention: LOG_RETENTION,
    removalPolicy: RemovalPolicy.RETAIN,
  });
}
