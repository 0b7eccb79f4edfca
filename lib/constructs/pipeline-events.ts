import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** CodePipeline event detail types the platform records, one EventBridge rule each. */
export const PIPELINE_EVENT_TYPES = {
  Pipeline: 'CodePipeline Pipeline Execution State Change',
  Stage: 'CodePipeline Stage Execution State Change',
  Action: 'CodePipeline Action Execution State Change',
} as const;

/** Properties of {@link PipelineEvents}. */
export interface PipelineEventsProps {
  /** Prefix of the platform's pipeline names (events of other pipelines are ignored). */
  readonly pipelineNamePrefix: string;
  /** The Recorder function, target of every rule. */
  readonly recorder: lambda.IFunction;
  /** Queue for events the Recorder could not be invoked with. */
  readonly deadLetterQueue: sqs.IQueue;
}

/**
 * EventBridge rules on the platform pipelines' pipeline, stage and action execution state
 * changes, each delivering to the Recorder (retried for two hours, then dead-lettered), which
 * turns them into ledger records and audit objects.
 */
export class PipelineEvents extends Construct {
  /** The rules, by the level of event they match. */
  readonly rules: Record<keyof typeof PIPELINE_EVENT_TYPES, events.Rule>;

  constructor(scope: Construct, id: string, props: PipelineEventsProps) {
    super(scope, id);
    const target = new targets.LambdaFunction(props.recorder, {
      deadLetterQueue: props.deadLetterQueue,
      maxEventAge: Duration.hours(2),
      retryAttempts: 20,
    });
    const make = (level: keyof typeof PIPELINE_EVENT_TYPES) =>
      new events.Rule(this, `${level}StateChange`, {
        description: `${PIPELINE_EVENT_TYPES[level]} of the platform pipelines → Recorder`,
        eventPattern: {
          source: ['aws.codepipeline'],
          detailType: [PIPELINE_EVENT_TYPES[level]],
          detail: { pipeline: events.Match.prefix(props.pipelineNamePrefix) },
        },
        targets: [target],
      });
    this.rules = { Pipeline: make('Pipeline'), Stage: make('Stage'), Action: make('Action') };
  }
}
