import { PutEventsCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';

/** Raised when EventBridge accepted the call but not the entry. */
export class PutEventError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PutEventError';
  }
}

/** PutEvents with one entry; fails when the entry was not accepted. Returns the event id. */
export async function putEvent(
  client: EventBridgeClient,
  entry: { busName: string; source: string; detailType: string; detail: unknown; resources?: string[] },
): Promise<string> {
  const out = await client.send(
    new PutEventsCommand({
      Entries: [
        { EventBusName: entry.busName, Source: entry.source, DetailType: entry.detailType, Detail: JSON.stringify(entry.detail), Resources: entry.resources },
      ],
    }),
  );
  const first = out.Entries?.[0];
  if ((out.FailedEntryCount ?? 0) > 0 || !first?.EventId) {
    throw new PutEventError(`EventBridge refused '${entry.detailType}' on bus '${entry.busName}': ${first?.ErrorCode ?? 'no event id'} ${first?.ErrorMessage ?? ''}`.trim());
  }
  return first.EventId;
}
