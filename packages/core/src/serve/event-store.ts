import type { EventStore } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { encodeMessage, encodedLength } from "../wire/raw.js";

export type { EventStore };

/**
 * A bounded in-memory event store for resumability: it keeps the last `maxEvents` events of a
 * session (default 1,000) and at most `maxBytes` of their JSON (default 16 MiB; the newest event is
 * kept whatever its size), so neither a long session nor one of large results can grow it without
 * limit. A client that comes back after its event was dropped gets a fresh stream instead of a
 * replay. One per session.
 */
export class MemoryEventStore implements EventStore {
  readonly #maxEvents: number;
  readonly #maxBytes: number;
  /** Insertion order is event order. */
  readonly #events = new Map<string, { streamId: string; message: JSONRPCMessage; bytes: number }>();
  #bytes = 0;
  #next = 0;

  constructor(options: { maxEvents?: number; maxBytes?: number } = {}) {
    this.#maxEvents = Math.max(1, options.maxEvents ?? 1000);
    this.#maxBytes = Math.max(0, options.maxBytes ?? 16 * 1024 * 1024);
  }

  get size(): number {
    return this.#events.size;
  }

  /** The bytes of JSON the kept events hold. */
  get bytes(): number {
    return this.#bytes;
  }

  async storeEvent(streamId: string, message: JSONRPCMessage): Promise<string> {
    const eventId = String(++this.#next);
    const bytes = sizeOf(message);
    this.#events.set(eventId, { streamId, message, bytes });
    this.#bytes += bytes;
    while (this.#events.size > this.#maxEvents || (this.#bytes > this.#maxBytes && this.#events.size > 1)) {
      const [oldest, event] = this.#events.entries().next().value!;
      this.#events.delete(oldest);
      this.#bytes -= event.bytes;
    }
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

/** A message's JSON length in bytes (a result kept as the bytes a backend sent is not serialized again); 0 if it has none: its write fails on its own. */
function sizeOf(message: JSONRPCMessage): number {
  try {
    return encodedLength(encodeMessage(message));
  } catch {
    return 0;
  }
}
