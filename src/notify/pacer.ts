// Outgoing messages paced to Telegram's limits: at least `perChatMs` between messages to one chat,
// at most `perSecond` in any one-second window overall, one message in flight per chat (so a
// chat's messages keep their order), and a 429 answered by waiting its retry_after, then retrying.
//
// A send "occupies" the limits from the moment it starts until it ends: the next message to the
// chat starts perChatMs after the previous one ended, and a finished send still counts against the
// global window for a second after it ended. The API call happens somewhere inside that span, so
// the limits hold for the calls themselves, whatever the network latency.
import type { Clock } from "../scheduler/clock.js";

export interface PacerOptions {
  clock: Clock;
  perChatMs?: number;
  perSecond?: number;
  /** Retries after 429 per message before giving up. */
  maxRetries?: number;
}

export class PacerClosedError extends Error {
  constructor() {
    super("the sender is stopping");
  }
}

/** retry_after (seconds) of a Bot API 429, or null for any other error. */
export function retryAfterSeconds(e: unknown): number | null {
  if (!e || typeof e !== "object") return null;
  const err = e as { error_code?: unknown; parameters?: { retry_after?: unknown } };
  if (err.error_code !== 429) return null;
  const s = Number(err.parameters?.retry_after);
  return Number.isFinite(s) && s >= 0 ? s : 1;
}

interface Pending {
  seq: number;
  chat: string;
  run: () => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  retries: number;
}

export interface SendRecord {
  chat: string;
  start: number;
  end: number;
  ok: boolean;
}

const WINDOW_MS = 1000;

export class SendPacer {
  readonly perChatMs: number;
  readonly perSecond: number;
  readonly maxRetries: number;
  /** Every attempt's span (kept for tests and diagnostics; chat keys never leave the process). */
  readonly history: SendRecord[] = [];
  historyLimit = 10_000;

  private readonly clock: Clock;
  private readonly queues = new Map<string, Pending[]>();
  private readonly busy = new Set<string>();
  private readonly lastEnd = new Map<string, number>();
  /** End times of finished sends within the last window, ascending. */
  private recentEnds: number[] = [];
  private pausedUntil = 0;
  private seq = 0;
  private pumping: Promise<void> | null = null;
  private closed = false;
  private wake: () => void = () => {};
  private wakeSignal: Promise<void> = Promise.resolve();

  constructor(opts: PacerOptions) {
    this.clock = opts.clock;
    this.perChatMs = opts.perChatMs ?? 1000;
    this.perSecond = opts.perSecond ?? 30;
    this.maxRetries = opts.maxRetries ?? 5;
    this.resetWake();
  }

  /** Runs `run` (one API call) when the limits allow; resolves with its result. */
  send<T>(chat: string | number, run: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new PacerClosedError());
    return new Promise<T>((resolve, reject) => {
      const key = String(chat);
      const q = this.queues.get(key) ?? [];
      q.push({
        seq: this.seq++,
        chat: key,
        run,
        resolve: resolve as (v: unknown) => void,
        reject,
        retries: 0,
      });
      this.queues.set(key, q);
      this.wake();
      this.startPump();
    });
  }

  private startPump() {
    if (this.pumping) return;
    this.pumping = this.pump().finally(() => {
      this.pumping = null;
      // A send made while the pump was finishing (e.g. a job's next message, sent as soon as the
      // previous one resolved) found it still set and did not start one: start it now.
      if (this.queued > 0 && !this.closed) this.startPump();
    });
  }

  /** Rejects everything not yet started and waits for sends in flight. */
  async close(): Promise<void> {
    this.closed = true;
    for (const q of this.queues.values())
      for (const p of q.splice(0)) p.reject(new PacerClosedError());
    this.wake();
    await this.pumping;
  }

  get queued(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.length;
    return n;
  }

  private resetWake() {
    this.wakeSignal = new Promise<void>((r) => {
      this.wake = r;
    });
  }

  private async pump(): Promise<void> {
    while (this.queued > 0 || this.busy.size > 0) {
      const now = this.clock.now();
      while (this.recentEnds.length && this.recentEnds[0]! <= now - WINDOW_MS)
        this.recentEnds.shift();
      const occupied = this.busy.size + this.recentEnds.length;
      let next: Pending | null = null;
      let wakeAt = Infinity;
      if (!this.closed) {
        for (const [chat, q] of this.queues) {
          if (q.length === 0 || this.busy.has(chat)) continue;
          const ready = Math.max(
            this.pausedUntil,
            (this.lastEnd.get(chat) ?? -Infinity) + this.perChatMs,
          );
          if (ready > now) wakeAt = Math.min(wakeAt, ready);
          else if (!next || q[0]!.seq < next.seq) next = q[0]!;
        }
      }
      if (next && occupied < this.perSecond) {
        this.start(this.queues.get(next.chat)!.shift()!, now);
        continue;
      }
      // A full window frees up a second after its oldest finished send (or when one in flight ends).
      if (next && this.recentEnds.length)
        wakeAt = Math.min(wakeAt, this.recentEnds[0]! + WINDOW_MS);
      const signal = this.wakeSignal;
      if (wakeAt === Infinity) {
        await signal;
      } else {
        const ac = new AbortController();
        await Promise.race([this.clock.sleep(wakeAt - now, ac.signal), signal]);
        ac.abort();
      }
      this.resetWake();
    }
  }

  private start(p: Pending, now: number) {
    this.busy.add(p.chat);
    const record: SendRecord = { chat: p.chat, start: now, end: now, ok: false };
    const settle = (ok: boolean) => {
      const end = this.clock.now();
      record.end = end;
      record.ok = ok;
      this.history.push(record);
      if (this.history.length > this.historyLimit)
        this.history.splice(0, this.history.length - this.historyLimit);
      this.lastEnd.set(p.chat, end);
      this.recentEnds.push(end);
      this.busy.delete(p.chat);
    };
    p.run().then(
      (v) => {
        settle(true);
        p.resolve(v);
        this.wake();
      },
      (e: unknown) => {
        settle(false);
        const after = retryAfterSeconds(e);
        if (after !== null && p.retries < this.maxRetries && !this.closed) {
          // Telegram asks the whole bot to hold off: pause every chat, keep this message first in its chat.
          p.retries++;
          this.pausedUntil = Math.max(this.pausedUntil, record.end + after * 1000);
          this.queues.get(p.chat)!.unshift(p);
        } else {
          p.reject(e);
        }
        this.wake();
      },
    );
  }
}
