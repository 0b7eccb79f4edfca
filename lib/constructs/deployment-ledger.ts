import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as backup from 'aws-cdk-lib/aws-backup';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { LEDGER_TABLE } from '../runtime/ledger/table';
import { acknowledge } from './acknowledge';

/** Properties of a {@link DeploymentLedger}. */
export interface DeploymentLedgerProps {
  /** The CMK that encrypts the table and its backups. */
  readonly encryptionKey: kms.IKey;
  /** Physical table name (the Deploy and Verify actions of the pipeline stacks address it by name). @default - generated */
  readonly tableName?: string;
  /** Days that daily backups are kept. @default 35 */
  readonly backupRetentionDays?: number;
}

/**
 * The deployment ledger: one DynamoDB table (layout in lib/runtime/ledger/table.ts) with
 * point-in-time recovery, the platform CMK, deletion protection, TTL for lock and idempotency
 * items, and a daily AWS Backup plan into a vault encrypted with the same key.
 */
export class DeploymentLedger extends Construct {
  /** The ledger table. */
  readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: DeploymentLedgerProps) {
    super(scope, id);
    this.table = new dynamodb.Table(this, 'Table', {
      tableName: props.tableName,
      partitionKey: { name: LEDGER_TABLE.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: LEDGER_TABLE.sortKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: props.encryptionKey,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      timeToLiveAttribute: LEDGER_TABLE.ttlAttribute,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: LEDGER_TABLE.timeIndex.name,
      partitionKey: { name: LEDGER_TABLE.timeIndex.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: LEDGER_TABLE.timeIndex.sortKey, type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.ALL,
    });

    const vault = new backup.BackupVault(this, 'BackupVault', {
      encryptionKey: props.encryptionKey,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const plan = new backup.BackupPlan(this, 'BackupPlan', {
      backupVault: vault,
      backupPlanRules: [
        new backup.BackupPlanRule({
          ruleName: 'Daily',
          scheduleExpression: events.Schedule.cron({ hour: '5', minute: '0' }),
          deleteAfter: Duration.days(props.backupRetentionDays ?? 35),
        }),
      ],
    });
    const selection = plan.addSelection('Ledger', { resources: [backup.BackupResource.fromDynamoDbTable(this.table)] });
    acknowledge(selection, {
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup]',
      reason: 'AWS Backup assumes this role to back up the ledger table; the AWS-maintained backup policy follows new backup features, which a copy would not',
    });
  }
}
