// Holding a connection (a refusal's HttpError.hold, or an admitted caller's holdAfterAnswer): once the
// answer is sent and the request read in full, the keep-alive connection is not read until its holder
// resumes it. Whatever the client sends meanwhile waits in the kernel (TCP back-pressure), and
// node:http parses it as usual once resumed: nothing is lost or reordered.
import type { ServerResponse } from "node:http";
import type { ConnectionHold } from "../errors.js";

/** Offers `res`'s connection to `hold` now; whether it is held once `res` is sent (false: a refusal closes it after the answer). */
export function holdConnection(res: ServerResponse, hold: ConnectionHold): boolean {
  const req = res.req;
  const socket = req.socket;
  let resumed = false;
  let paused = false;
  let timeout = 0;
  const resume = () => {
    if (resumed) return;
    resumed = true;
    if (!paused || socket.destroyed) return;
    socket.setTimeout(timeout);
    socket.resume();
  };
  if (!hold(socket, resume)) return false;
  const pause = () => {
    // Resumed already, or answered with Connection: close (the body did not come in time).
    if (resumed || !socket.writable) return;
    paused = true;
    // Node's keep-alive timeout runs on reads: left on, it would close the connection under a request
    // waiting unread. It is restored on resume.
    timeout = socket.timeout ?? 0;
    socket.setTimeout(0);
    socket.pause();
  };
  // After node:http's own handling of the finished answer (which arms the keep-alive timeout).
  res.once("finish", () => (req.complete ? pause() : req.once("end", pause)));
  return true;
}
