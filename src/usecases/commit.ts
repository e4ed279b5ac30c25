// What a caller commits together with a use case's own writes. The Telegram adapter passes the
// step that records the update as processed, so "consent recorded" and "update handled" commit
// in one transaction (a redelivered update then changes nothing); the CLI and tests pass nothing.
import type { Tx } from "../db/client.js";

export type AlsoCommit = (tx: Tx) => Promise<void>;

export const commitNothing: AlsoCommit = async () => {};
