// Shared by the sandbox tests: a sandbox per test and a plain-fetch Bot API client, so the
// tests see exactly what travels over HTTP.
import { afterEach } from "vitest";
import { startSandbox, type Sandbox, type SandboxOptions } from "../../src/sandbox/index.js";

export const TOKEN = "424242:SANDBOX-TEST-TOKEN";

const running: Sandbox[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((sandbox) => sandbox.stop()));
});

export async function sandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const started = await startSandbox({ token: TOKEN, ...options });
  running.push(started);
  return started;
}

export interface ApiReply {
  status: number;
  body: {
    ok: boolean;
    result?: unknown;
    error_code?: number;
    description?: string;
    parameters?: { retry_after?: number };
  };
}

/** POSTs a JSON body to /bot<token>/<method>. */
export async function call(
  box: Sandbox,
  method: string,
  params: Record<string, unknown> = {},
  token: string = box.token,
): Promise<ApiReply> {
  const response = await fetch(`${box.apiRoot}/bot${token}/${method}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(params),
  });
  return { status: response.status, body: (await response.json()) as ApiReply["body"] };
}

/** A user who has written to the bot, so the bot may write back. */
export function startedUser(box: Sandbox, firstName = "Ada") {
  const user = box.createUser({ firstName });
  user.sendText("/start");
  return user;
}

/** Resolves when the sandbox receives a call of `method` (the poll is then registered). */
export function nextCall(box: Sandbox, method: string): Promise<void> {
  return new Promise((resolve) => {
    const listener = (event: { kind: string; method?: string }) => {
      if (event.kind === "call" && event.method === method) {
        box.state.events.off("change", listener);
        resolve();
      }
    };
    box.state.events.on("change", listener);
  });
}
