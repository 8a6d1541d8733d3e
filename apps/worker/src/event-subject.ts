import type { RelayEvent } from "@yuju-relay/protocol";

/** What names an event in a log line besides its id: its messageId, or its room id. */
export function eventSubject(event: RelayEvent): { messageId: string } | { roomId: string } {
  return event.type === "message.received" ? { messageId: event.data.messageId } : { roomId: event.data.room.id };
}
