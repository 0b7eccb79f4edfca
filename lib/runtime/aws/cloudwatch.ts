import { PutMetricDataCommand, type CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DATAOPS_METRICS, type DataOpsMetricDatum } from '../../ops/metrics';

/** PutMetricData of the platform's own metrics (namespace DataOps), in batches of 1000 (the API limit). */
export async function putDataOpsMetrics(client: CloudWatchClient, data: readonly DataOpsMetricDatum[]): Promise<void> {
  for (let i = 0; i < data.length; i += 1000) {
    await client.send(
      new PutMetricDataCommand({
        Namespace: DATAOPS_METRICS.namespace,
        MetricData: data.slice(i, i + 1000).map((d) => ({ ...d, Dimensions: d.Dimensions.map((x) => ({ ...x })) })),
      }),
    );
  }
}
