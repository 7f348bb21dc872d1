import type { IncomingMessage } from 'node:http';

/** How long the rest of an unwanted request body is read and dropped after the answer, at most. */
const LINGER_MS = 10_000;
/** A client that sends nothing for this long has stopped: the connection closes then. */
const LINGER_IDLE_MS = 2_000;

/**
 * Answers, then closes the connection without losing the answer, when the request body is not wanted
 * (a refused or failed upload). Closing a socket with unread bytes makes the kernel send a TCP reset,
 * which can destroy the answer in the client's buffers before it is read: the client sees EPIPE or
 * ECONNRESET instead of the error that says what happened. So, as nginx and Apache do (a "lingering
 * close"), the rest of the body is read and dropped after the answer until the client stops sending
 * (it has read the answer), goes idle, or 10 s pass. Call before the answer is sent.
 */
export function closeAfterAnswer(req: IncomingMessage, setHeader: (name: string, value: string) => void): void {
  setHeader('Connection', 'close');
  // Whatever still arrives is read and dropped (nothing is piped any more).
  req.resume();
  const socket = req.socket;
  // Node ends a `Connection: close` answer with destroySoon(): a FIN, then a destroy as soon as it is
  // flushed, with the body's bytes still unread. Only the destroy waits here.
  socket.destroySoon = function lingeringDestroySoon(this: typeof socket) {
    if (this.writable) this.end();
    const deadline = setTimeout(() => this.destroy(), LINGER_MS);
    deadline.unref();
    this.setTimeout(LINGER_IDLE_MS, () => this.destroy());
    this.once('close', () => clearTimeout(deadline));
  };
}
