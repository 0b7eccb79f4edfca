import { CreateTableCommand, DynamoDBClient, TransactWriteItemsCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { CreateRoleCommand, IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { accountAdmin, assumeRole, clientConfig, type AwsTarget } from '../../../tools/rehearsal/aws';
import { enforceIam } from '../../../tools/rehearsal/iam';
import { motoTargetOf } from '../../helpers/rehearsal';
import { startMoto, type LocalServer } from '../../helpers/servers';

// The rehearsal's moto launcher evaluates IAM as AWS does where moto does not: a DynamoDB transaction
// is authorized item by item, as the operation each item is, on its table (TransactWriteItems is not
// an IAM action, so a policy granting PutItem and ConditionCheckItem is what a transaction needs).
jest.setTimeout(120_000);

const ACCOUNT = '123456789012';

describe('moto launcher: DynamoDB transactions and EventBridge buses under IAM enforcement', () => {
  let moto: LocalServer;
  let aws: AwsTarget;
  let asWriter: DynamoDBClient;
  const put = (table: string, pk: string) => ({ Put: { TableName: table, Item: { pk: { S: pk } } } });
  const check = (table: string, pk: string) => ({ ConditionCheck: { TableName: table, Key: { pk: { S: pk } }, ConditionExpression: 'attribute_not_exists(pk)' } });

  beforeAll(async () => {
    moto = await startMoto();
    aws = await enforceIam(motoTargetOf(moto), ACCOUNT, [ACCOUNT]);
    const admin = await accountAdmin(aws, ACCOUNT);
    const ddb = new DynamoDBClient(clientConfig(aws, admin));
    for (const t of ['ledger', 'other']) await ddb.send(new CreateTableCommand({ TableName: t, BillingMode: 'PAY_PER_REQUEST', AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }] }));
    ddb.destroy();
    const iam = new IAMClient(clientConfig(aws, admin));
    await iam.send(new CreateRoleCommand({ RoleName: 'writer', AssumeRolePolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: '*' }, Action: 'sts:AssumeRole' }] }) }));
    // the item actions on the ledger only, as the platform's policies grant them (no TransactWriteItems)
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: 'writer',
        PolicyName: 'ledger-items',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Action: ['dynamodb:PutItem', 'dynamodb:ConditionCheckItem'], Resource: `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/ledger` },
            // as the Recorder's PublishLedgerEvents: the default bus only
            { Effect: 'Allow', Action: 'events:PutEvents', Resource: `arn:aws:events:us-east-1:${ACCOUNT}:event-bus/default` },
          ],
        }),
      }),
    );
    iam.destroy();
    asWriter = new DynamoDBClient(clientConfig(aws, await assumeRole(aws, `arn:aws:iam::${ACCOUNT}:role/writer`, 'writer')));
  });
  afterAll(async () => {
    asWriter?.destroy();
    await moto?.stop();
  });

  it('allows a transaction whose every item the policy allows on its table', async () => {
    await expect(asWriter.send(new TransactWriteItemsCommand({ TransactItems: [check('ledger', 'a'), put('ledger', 'b')] }))).resolves.toBeDefined();
  });

  it('refuses a transaction with one item on a table the policy does not name, naming that item\'s action and table', async () => {
    await expect(asWriter.send(new TransactWriteItemsCommand({ TransactItems: [put('ledger', 'c'), put('other', 'c')] }))).rejects.toThrow(
      new RegExp(`not authorized to perform: dynamodb:PutItem on resource: arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/other`),
    );
  });

  it('refuses an item operation the policy does not grant', async () => {
    await expect(asWriter.send(new TransactWriteItemsCommand({ TransactItems: [{ Delete: { TableName: 'ledger', Key: { pk: { S: 'a' } } } }] }))).rejects.toThrow(/not authorized to perform: dynamodb:DeleteItem on resource: .*table\/ledger/);
  });

  it('checks PutEvents against the bus it puts on: the default bus is allowed, another bus is refused by its ARN', async () => {
    const events = new EventBridgeClient(clientConfig(aws, await assumeRole(aws, `arn:aws:iam::${ACCOUNT}:role/writer`, 'writer-events')));
    try {
      const entry = { Source: 'dataops.ledger', DetailType: 'x', Detail: '{}' };
      await expect(events.send(new PutEventsCommand({ Entries: [entry] }))).resolves.toMatchObject({ FailedEntryCount: 0 });
      await expect(events.send(new PutEventsCommand({ Entries: [{ ...entry, EventBusName: 'audit' }] }))).rejects.toThrow(new RegExp(`events:PutEvents on resource: arn:aws:events:us-east-1:${ACCOUNT}:event-bus/audit`));
    } finally {
      events.destroy();
    }
  });
});
