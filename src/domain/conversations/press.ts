// Which button presses still count. A conversation's buttons carry the nonce it had when they were
// sent, and only the message whose buttons are live takes presses: an older message, a redelivered
// press after the step moved on, or a press from another chat's copy is stale and changes nothing.

export interface LiveButtons {
  nonce: number;
  /** The message whose buttons are live; null between a step's commit and its new message. */
  messageId: number | null;
}

export interface Press {
  nonce: number;
  /** The message the button was on (absent for inline-mode messages). */
  messageId: number | undefined;
}

export function pressIsLive(live: LiveButtons, press: Press): boolean {
  if (press.nonce !== live.nonce) return false;
  return live.messageId === null || press.messageId === live.messageId;
}

/** A button's numeric argument (an id or an index), or null when it is missing or not a number. */
export function numericArg(arg: string | undefined): number | null {
  return arg !== undefined && /^\d{1,9}$/.test(arg) ? Number(arg) : null;
}
