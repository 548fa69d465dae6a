import type { Channel } from "../tenant.js";
import { LOG_LEVELS } from "../wire/message.js";

const severity = (level: unknown): number => LOG_LEVELS.indexOf(level as (typeof LOG_LEVELS)[number]);

/**
 * The log level each client set through one backend session. The backend is set to the most verbose
 * of them, and each client is sent only the messages at or above its own level: on a session
 * several clients share, one client's `logging/setLevel` neither silences nor floods another.
 */
export class LogLevels {
  readonly #byClient = new Map<Channel, number>();
  /** The level the backend was last set to. */
  sent: string | undefined;

  /** Notes `who`'s level; the level the backend should have now. */
  set(who: Channel, level: string): string {
    this.#byClient.set(who, severity(level));
    return this.wanted()!;
  }

  /** Forgets `who`'s level; the level the backend should have now (undefined: nobody set one). */
  forget(who: Channel): string | undefined {
    this.#byClient.delete(who);
    return this.wanted();
  }

  /** The most verbose level any client set. */
  wanted(): string | undefined {
    return this.#byClient.size === 0 ? undefined : LOG_LEVELS[Math.min(...this.#byClient.values())];
  }

  /** Whether `who` is sent a message at `level` (a client that set no level is sent every one). */
  wants(who: Channel, level: unknown): boolean {
    const own = this.#byClient.get(who);
    return own === undefined || severity(level) >= own;
  }
}
