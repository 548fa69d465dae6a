import type { EventStore } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";

export type { EventStore };

/**
 * A bounded in-memory event store for resumability: it keeps the last `maxEvents` events of a
 * session (default 1,000), so a long session cannot grow it without limit. A client that comes
 * back after its event was dropped gets a fresh stream instead of a replay. One per session.
 */
export class MemoryEventStore implements EventStore {
  readonly #max: number;
  /** Insertion order is event order. */
  readonly #events = new Map<string, { streamId: string; message: JSONRPCMessage }>();
  #next = 0;

  constructor(options: { maxEvents?: number } = {}) {
    this.#max = Math.max(1, options.maxEvents ?? 1000);
  }

  get size(): number {
    return this.#events.size;
  }

  async storeEvent(streamId: string, message: JSONRPCMessage): Promise<string> {
    const eventId = String(++this.#next);
    this.#events.set(eventId, { streamId, message });
    if (this.#events.size > this.#max) this.#events.delete(this.#events.keys().next().value!);
    return eventId;
  }

  async getStreamIdForEventId(eventId: string): Promise<string | undefined> {
    return this.#events.get(eventId)?.streamId;
  }

  async replayEventsAfter(lastEventId: string, { send }: { send: (eventId: string, message: JSONRPCMessage) => Promise<void> }): Promise<string> {
    const streamId = this.#events.get(lastEventId)?.streamId;
    if (streamId === undefined) return "";
    let after = false;
    for (const [eventId, event] of [...this.#events]) {
      if (after && event.streamId === streamId) await send(eventId, event.message);
      else if (eventId === lastEventId) after = true;
    }
    return streamId;
  }
}
