// The HTTP face of the sandbox: /bot<token>/<method> with JSON, form-urlencoded or multipart
// bodies (and query-string parameters), answered in the Bot API's envelope; /file/bot<token>/<path>
// serves uploaded files like api.telegram.org does. Injected faults and every rejected call are
// applied and recorded here.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  ApiError,
  badGateway,
  badRequest,
  entityTooLarge,
  internalServerError,
  notFound,
  tooManyRequests,
  unauthorized,
} from "./errors.js";
import { Described, METHODS } from "./methods.js";
import { MultipartError, parseMultipart } from "./multipart.js";
import { Params } from "./params.js";
import type { CallRecord, Fault, SandboxState } from "./state.js";

/** Telegram accepts uploads up to 50 MB; leave room for the rest of the form. */
const MAX_BODY_BYTES = 52 * 1024 * 1024;

export interface ServerHandle {
  server: Server;
  port: number;
  close(): Promise<void>;
}

export async function listen(
  state: SandboxState,
  port: number,
  host: string,
): Promise<ServerHandle> {
  const server = createServer((req, res) => {
    void handle(state, req, res).catch((error: unknown) => {
      process.stderr.write(
        `sandbox: unexpected error: ${String((error as Error)?.stack ?? error)}\n`,
      );
      if (!res.headersSent) send(res, 500, internalServerError().toJSON());
    });
  });
  // Long polls last up to 50 s; keep idle keep-alive sockets longer than grammY's requests.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 0;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    server,
    port: address.port,
    close: async () => {
      state.updates.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

async function handle(
  state: SandboxState,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const url = new URL(req.url ?? "/", "http://sandbox.local");
  const body = await readBody(req);

  const file = /^\/file\/bot([^/]+)\/(.+)$/.exec(url.pathname);
  if (file) return serveFile(state, file[1] ?? "", decodeURIComponent(file[2] ?? ""), res);

  const route = /^\/bot([^/]+)\/([^/]*)\/?$/.exec(url.pathname);
  if (!route) return send(res, 404, notFound().toJSON());
  const token = decodeURIComponent(route[1] ?? "");
  const method = route[2] ?? "";

  let params: Params;
  try {
    if (body === "too-large") throw entityTooLarge();
    params = parseParams(url, req.headers["content-type"] ?? "", body);
  } catch (error) {
    return reject(state, res, method, new Params({}), asApiError(error), false);
  }

  const call: CallRecord = { method, params: params.forLog(), at: new Date() };
  state.calls.push(call);
  state.emit({ kind: "call", method });

  if (token !== state.token) return reject(state, res, method, params, unauthorized(), false, call);
  const handler = METHODS.get(method.toLowerCase());
  if (!handler) return reject(state, res, method, params, notFound(), false, call);

  const fault = state.takeFault(method);
  if (fault && !("drop" in fault && fault.after)) {
    if ("drop" in fault) return drop(state, req, method, params, call);
    return reject(state, res, method, params, faultError(fault), true, call);
  }

  const abort = new AbortController();
  res.on("close", () => {
    if (!res.writableFinished) abort.abort();
  });

  let result: unknown;
  try {
    result = await handler({ state, params, signal: abort.signal });
  } catch (error) {
    return reject(state, res, method, params, asApiError(error), false, call);
  }
  if (fault && "drop" in fault) return drop(state, req, method, params, call);
  call.outcome = { ok: true };
  if (res.destroyed) return;
  const envelope =
    result instanceof Described
      ? { ok: true, result: result.result, description: result.description }
      : { ok: true, result };
  send(res, 200, envelope);
}

function parseParams(url: URL, contentType: string, body: Buffer): Params {
  const raw: Record<string, unknown> = Object.fromEntries(url.searchParams);
  const type = contentType.split(";")[0]?.trim().toLowerCase() ?? "";
  if (body.length === 0) return new Params(raw);
  if (type === "application/json") {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString("utf8"));
    } catch {
      throw badRequest("can't parse JSON object");
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      throw badRequest("JSON object expected");
    }
    return new Params({ ...raw, ...(parsed as Record<string, unknown>) });
  }
  if (type === "application/x-www-form-urlencoded") {
    return new Params({
      ...raw,
      ...Object.fromEntries(new URLSearchParams(body.toString("utf8"))),
    });
  }
  if (type === "multipart/form-data") {
    try {
      const { fields, files } = parseMultipart(body, contentType);
      return new Params({ ...raw, ...fields }, files);
    } catch (error) {
      if (error instanceof MultipartError)
        throw badRequest(`can't parse multipart/form-data: ${error.message}`);
      throw error;
    }
  }
  return new Params(raw);
}

function faultError(fault: Exclude<Fault, { drop: true }>): ApiError {
  if (fault.code === 429 && "retryAfter" in fault) return tooManyRequests(fault.retryAfter);
  const description = "description" in fault ? fault.description : undefined;
  if (description) return new ApiError(fault.code, description);
  if (fault.code === 502) return badGateway();
  if (fault.code === 500) return internalServerError();
  return new ApiError(fault.code, `Error ${fault.code}`);
}

function asApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  process.stderr.write(
    `sandbox: method failed unexpectedly: ${String((error as Error)?.stack ?? error)}\n`,
  );
  return internalServerError();
}

function reject(
  state: SandboxState,
  res: ServerResponse,
  method: string,
  params: Params,
  error: ApiError,
  injected: boolean,
  call?: CallRecord,
): void {
  if (call) call.outcome = { ok: false, code: error.code, description: error.description };
  state.recordRejection({
    method,
    code: error.code,
    description: error.description,
    params: params.forLog(),
    injected,
  });
  if (!res.destroyed) send(res, error.code, error.toJSON());
}

function drop(
  state: SandboxState,
  req: IncomingMessage,
  method: string,
  params: Params,
  call: CallRecord,
): void {
  const description = "connection dropped (injected)";
  call.outcome = { ok: false, code: 0, description };
  state.recordRejection({ method, code: 0, description, params: params.forLog(), injected: true });
  req.socket.destroy();
}

function serveFile(state: SandboxState, token: string, path: string, res: ServerResponse): void {
  if (token !== state.token) return send(res, 401, unauthorized().toJSON());
  const file = [...state.files.values()].find((f) => f.path === path && f.data);
  if (!file?.data) return send(res, 404, notFound().toJSON());
  res.writeHead(200, {
    "content-type": file.mimeType ?? "application/octet-stream",
    "content-length": file.data.length,
  });
  res.end(file.data);
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<Buffer | "too-large"> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size <= MAX_BODY_BYTES) chunks.push(buffer);
  }
  return size > MAX_BODY_BYTES ? "too-large" : Buffer.concat(chunks);
}
