// Callback data of the conversations whose buttons a feature encodes itself (session log, note):
// "1x:<feature>:<nonce>:<op>[:<arg>]", bound to the conversation's nonce so a press sent for an
// earlier step is stale (src/conversations/runtime.ts checks it).
import { encodeCallback } from "../callback-data.js";

/** Callback data for a feature's buttons, bound to the conversation's nonce. */
export function featureCallback(feature: string) {
  return (nonce: number, op: string, arg?: string | number): string =>
    encodeCallback({
      kind: "x",
      feature,
      parts: [String(nonce), op, ...(arg === undefined ? [] : [String(arg)])],
    });
}
