// Holding a connection (a refusal's HttpError.hold, or an admitted caller's holdAfterAnswer): once the
// answer is sent and the request read in full, the keep-alive connection is not read until its holder
// resumes it. Whatever the client sends meanwhile waits in the kernel (TCP back-pressure), and
// node:http parses it as usual once resumed: nothing is lost or reordered.
import type { ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { ConnectionHold } from "../errors.js";

/** Offers `res`'s connection to `hold` now; whether it is held once `res` is sent (false: a refusal closes it after the answer). */
export function holdConnection(res: ServerResponse, hold: ConnectionHold): boolean {
  const req = res.req;
  const held = new HeldSocket(req.socket);
  if (!hold(req.socket, held.resume)) return false;
  // After node:http's own handling of the finished answer (which arms the keep-alive timeout).
  res.once("finish", () => (req.complete ? held.pause() : req.once("end", held.pause)));
  return true;
}

/**
 * One hold of a connection. What the holder keeps (`resume`) reaches the socket and no more: the
 * request and its answer, which a held connection may outlive by many ms, are left to the scavenger
 * rather than promoted with it.
 */
class HeldSocket {
  #resumed = false;
  #paused = false;
  #timeout = 0;

  constructor(readonly socket: Socket) {}

  readonly resume = (): void => {
    if (this.#resumed) return;
    this.#resumed = true;
    if (!this.#paused || this.socket.destroyed) return;
    this.socket.setTimeout(this.#timeout);
    this.socket.resume();
  };

  readonly pause = (): void => {
    // Resumed already, or answered with Connection: close (the body did not come in time).
    if (this.#resumed || !this.socket.writable) return;
    this.#paused = true;
    // Node's keep-alive timeout runs on reads: left on, it would close the connection under a request
    // waiting unread. It is restored on resume.
    this.#timeout = this.socket.timeout ?? 0;
    this.socket.setTimeout(0);
    this.socket.pause();
  };
}
