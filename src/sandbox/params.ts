// Method parameters as the Bot API reads them. A parameter can arrive as a JSON value (JSON body)
// or as a string (query string, form-urlencoded, multipart); objects such as reply_markup arrive as
// JSON text in the latter. Files arrive as multipart parts, either under the parameter's own name or
// referenced as "attach://<part>" (grammY's way).
import { badRequest } from "./errors.js";
import type { UploadedFile } from "./multipart.js";

export class Params {
  constructor(
    readonly raw: Record<string, unknown>,
    readonly files: Record<string, UploadedFile> = {},
  ) {}

  has(name: string): boolean {
    const value = this.raw[name];
    return value !== undefined && value !== null && value !== "";
  }

  string(name: string): string | undefined {
    const value = this.raw[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value === "string") return value;
    if (typeof value === "number" || typeof value === "boolean") return String(value);
    return JSON.stringify(value);
  }

  /** Integers the way tdlib reads them: garbage reads as absent. */
  int(name: string): number | undefined {
    const value = this.raw[name];
    if (typeof value === "number") return Number.isFinite(value) ? Math.trunc(value) : undefined;
    if (typeof value === "string" && /^\s*[+-]?\d+\s*$/.test(value)) return parseInt(value, 10);
    return undefined;
  }

  bool(name: string): boolean {
    const value = this.raw[name];
    if (typeof value === "boolean") return value;
    if (typeof value === "number") return value !== 0;
    if (typeof value === "string") return value.toLowerCase() === "true" || value === "1";
    return false;
  }

  /** A JSON object/array parameter; `what` names it in the error ("reply keyboard markup"). */
  json(name: string, what: string): unknown {
    const value = this.raw[name];
    if (value === undefined || value === null || value === "") return undefined;
    if (typeof value !== "string") return value;
    try {
      return JSON.parse(value) as unknown;
    } catch {
      throw badRequest(`can't parse ${what} JSON object`);
    }
  }

  /** An InputFile parameter: an upload, or a string (file_id or URL). */
  file(name: string): UploadedFile | string | undefined {
    const value = this.raw[name];
    if (typeof value === "string" && value.startsWith("attach://")) {
      return this.files[value.slice("attach://".length)];
    }
    const direct = this.files[name];
    if (direct) return direct;
    return typeof value === "string" && value !== "" ? value : undefined;
  }

  /** The parameters for logs: file contents replaced by their name and size. */
  forLog(): Record<string, unknown> {
    const out: Record<string, unknown> = { ...this.raw };
    const attached = new Set<string>();
    for (const [key, value] of Object.entries(out)) {
      if (typeof value === "string" && value.startsWith("attach://")) {
        const part = value.slice("attach://".length);
        const file = this.files[part];
        if (file) out[key] = describeFile(file);
        attached.add(part);
      }
    }
    for (const [field, file] of Object.entries(this.files)) {
      if (!attached.has(field)) out[field] = describeFile(file);
    }
    return out;
  }
}

function describeFile(file: UploadedFile): Record<string, unknown> {
  return { filename: file.filename, size: file.size };
}
