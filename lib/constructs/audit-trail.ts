import * as cloudtrail from 'aws-cdk-lib/aws-cloudtrail';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { encryptedLogGroup } from './encrypted-log-group';
import { SecureBucket } from './secure-bucket';

/** Properties of an {@link AuditTrail}. */
export interface AuditTrailProps {
  /** The CMK that encrypts audit objects, trail files and the trail's log group. */
  readonly encryptionKey: kms.IKey;
  /** Bucket receiving server access logs. */
  readonly accessLogsBucket: s3.IBucket;
  /** Days that audit objects are locked in COMPLIANCE mode. */
  readonly retentionDays: number;
  /** Buckets whose object-level API calls the trail records (the audit bucket is always added). */
  readonly dataEventBuckets: readonly s3.IBucket[];
}

/**
 * Audit evidence that cannot be changed: the audit bucket (S3 Object Lock in COMPLIANCE mode for
 * the configured retention) where the Recorder writes one object per ledger event, and a
 * multi-region CloudTrail trail with log-file validation, KMS encryption, CloudWatch Logs delivery
 * and S3 data events on the artifact and audit buckets. Trail files go to their own locked bucket,
 * so the trail does not record its own deliveries.
 */
export class AuditTrail extends Construct {
  /** Bucket of audit records (Object Lock, COMPLIANCE). */
  readonly auditBucket: s3.Bucket;
  /** Bucket of CloudTrail log files (Object Lock, COMPLIANCE). */
  readonly trailBucket: s3.Bucket;
  /** The trail. */
  readonly trail: cloudtrail.Trail;

  constructor(scope: Construct, id: string, props: AuditTrailProps) {
    super(scope, id);
    this.auditBucket = new SecureBucket(this, 'AuditBucket', {
      encryptionKey: props.encryptionKey,
      serverAccessLogsBucket: props.accessLogsBucket,
      objectLockComplianceDays: props.retentionDays,
    }).bucket;
    this.trailBucket = new SecureBucket(this, 'TrailBucket', {
      encryptionKey: props.encryptionKey,
      serverAccessLogsBucket: props.accessLogsBucket,
      objectLockComplianceDays: props.retentionDays,
    }).bucket;

    this.trail = new cloudtrail.Trail(this, 'Trail', {
      bucket: this.trailBucket,
      encryptionKey: props.encryptionKey,
      isMultiRegionTrail: true,
      includeGlobalServiceEvents: true,
      enableFileValidation: true,
      sendToCloudWatchLogs: true,
      cloudWatchLogGroup: encryptedLogGroup(this, 'TrailLogGroup', { encryptionKey: props.encryptionKey }),
    });
    this.trail.addS3EventSelector(
      [...props.dataEventBuckets, this.auditBucket].map((bucket) => ({ bucket })),
      { readWriteType: cloudtrail.ReadWriteType.ALL, includeManagementEvents: true },
    );
  }
}
