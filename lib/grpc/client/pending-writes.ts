/**
 * The write side of a client call whose call core is made later than the call (the grpc-js
 * Channel adapter's call, the bottom of a client interceptor chain): what is written before the
 * core exists waits here, in order, and goes to the core when it arrives.
 */

/** What a write goes to: the call core (ClientCall), seen from its writer. */
export interface WriteTarget {
  readonly isDone: boolean;
  sendMessage(message: unknown): boolean;
  halfClose(): void;
}

/** A message's write callback (grpc-js's MessageContext; its flags are not used). */
export interface WriteContext {
  readonly callback?: () => void;
}

const noop = (): void => {};

/**
 * Messages and the half-close made before attach() are kept in the order they were made and
 * replayed into the core by attach(); after it, each goes straight to the core. A message's
 * callback runs once the core has taken it (or at once when the call is over); when the core
 * asks the writer to wait, it runs on drain() instead. discard() (the call ended before it had
 * a core) drops what waits, without running its callbacks, and every write after it.
 */
export class PendingWrites {
  private target: WriteTarget | null = null;
  /** Before attach(): context and message pairs; a null context is the half-close. */
  private queued: unknown[] | null = null;
  private discarded = false;
  /** The callback of the write the core asked to wait for (one at a time, as grpc-js writes). */
  private waiting: (() => void) | null = null;
  /** Later ones, in order: only when several writes were queued before attach() and all must wait. */
  private alsoWaiting: (() => void)[] | null = null;

  /** Sends one message, or keeps it until attach(). */
  send(context: WriteContext, message: unknown): void {
    const target = this.target;
    if (target === null) {
      if (!this.discarded) (this.queued ??= []).push(context, message);
      return;
    }
    if (target.isDone || target.sendMessage(message)) context.callback?.();
    else if (this.waiting === null) this.waiting = context.callback ?? noop;
    else (this.alsoWaiting ??= []).push(context.callback ?? noop);
  }

  /** Half-closes the core, or does so in turn at attach(). */
  halfClose(): void {
    const target = this.target;
    if (target !== null) target.halfClose();
    else if (!this.discarded) (this.queued ??= []).push(null, undefined);
  }

  /** The core exists: what was written before goes to it, in order. */
  attach(target: WriteTarget): void {
    this.target = target;
    const queued = this.queued;
    this.queued = null;
    if (queued === null) return;
    for (let index = 0; index < queued.length; index += 2) {
      const context = queued[index] as WriteContext | null;
      if (context === null) target.halfClose();
      else this.send(context, queued[index + 1]);
    }
  }

  /** The call ends before it has a core: what waits is dropped, its callbacks never run. */
  discard(): void {
    this.discarded = true;
    this.queued = null;
  }

  /** The core has room again (or the call is over): the waiting writes' callbacks run, in order. */
  drain(): void {
    const callback = this.waiting;
    if (callback === null) return;
    const more = this.alsoWaiting;
    this.waiting = null;
    this.alsoWaiting = null;
    callback();
    if (more !== null) for (const next of more) next();
  }
}
