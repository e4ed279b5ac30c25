// A small multipart/form-data parser (RFC 7578) for Bot API uploads. It is tolerant of the way
// grammY writes part headers: lower-case names, no spaces and an unquoted filename
// ("content-disposition:form-data;name="x";filename=report.pdf"). Limitation: an unquoted filename
// containing ";" is cut at the ";".

export interface UploadedFile {
  /** The form field the file came in. */
  field: string;
  filename: string;
  /** The part's content-type as sent (grammY always sends application/octet-stream). */
  contentType: string;
  size: number;
  data: Buffer;
}

export interface MultipartBody {
  fields: Record<string, string>;
  files: Record<string, UploadedFile>;
}

export class MultipartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MultipartError";
  }
}

export function boundaryOf(contentType: string): string | undefined {
  const params = splitParams(contentType).slice(1);
  for (const param of params) {
    const [key, value] = keyValue(param);
    if (key === "boundary" && value) return value;
  }
  return undefined;
}

export function parseMultipart(body: Buffer, contentType: string): MultipartBody {
  const boundary = boundaryOf(contentType);
  if (!boundary) throw new MultipartError("multipart boundary is missing");
  const delimiter = Buffer.from(`--${boundary}`);
  const nextDelimiter = Buffer.from(`\r\n--${boundary}`);
  const fields: Record<string, string> = {};
  const files: Record<string, UploadedFile> = {};

  let position = body.indexOf(delimiter);
  if (position < 0) throw new MultipartError("multipart body has no boundary");
  position += delimiter.length;

  for (;;) {
    // After a delimiter: "--" closes the body, otherwise CRLF and the next part.
    if (body[position] === 0x2d && body[position + 1] === 0x2d) break;
    while (body[position] === 0x20 || body[position] === 0x09) position++;
    if (body[position] !== 0x0d || body[position + 1] !== 0x0a) {
      throw new MultipartError("malformed multipart delimiter line");
    }
    position += 2;
    const headerEnd = body.indexOf("\r\n\r\n", position);
    if (headerEnd < 0) throw new MultipartError("multipart part without header end");
    const headers = parseHeaders(body.subarray(position, headerEnd).toString("utf8"));
    const contentStart = headerEnd + 4;
    const contentEnd = body.indexOf(nextDelimiter, contentStart);
    if (contentEnd < 0) throw new MultipartError("multipart body is not terminated");
    const content = body.subarray(contentStart, contentEnd);
    position = contentEnd + nextDelimiter.length;

    const disposition = headers.get("content-disposition");
    if (!disposition) continue;
    const params = new Map<string, string>();
    for (const param of splitParams(disposition).slice(1)) {
      const [key, value] = keyValue(param);
      if (key) params.set(key, value ?? "");
    }
    const name = params.get("name");
    if (name === undefined) continue;
    const filename = decodeExtended(params.get("filename*")) ?? params.get("filename");
    if (filename !== undefined) {
      files[name] = {
        field: name,
        filename,
        contentType: headers.get("content-type") ?? "application/octet-stream",
        size: content.length,
        data: Buffer.from(content),
      };
    } else {
      fields[name] = content.toString("utf8");
    }
  }
  return { fields, files };
}

function parseHeaders(block: string): Map<string, string> {
  const headers = new Map<string, string>();
  for (const line of block.split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return headers;
}

/** Splits "a; b=1; c="x;y"" on semicolons outside quotes. */
function splitParams(header: string): string[] {
  const parts: string[] = [];
  let current = "";
  let quoted = false;
  for (let i = 0; i < header.length; i++) {
    const c = header[i];
    if (c === "\\" && quoted) {
      current += c + (header[i + 1] ?? "");
      i++;
    } else if (c === '"') {
      quoted = !quoted;
      current += c;
    } else if (c === ";" && !quoted) {
      parts.push(current.trim());
      current = "";
    } else {
      current += c;
    }
  }
  parts.push(current.trim());
  return parts;
}

function keyValue(param: string): [string, string | undefined] {
  const eq = param.indexOf("=");
  if (eq < 0) return [param.trim().toLowerCase(), undefined];
  const key = param.slice(0, eq).trim().toLowerCase();
  let value = param.slice(eq + 1).trim();
  if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) {
    value = value.slice(1, -1).replace(/\\(.)/g, "$1");
  }
  return [key, value];
}

/** RFC 5987 ext-value (filename*=UTF-8''na%C3%AFve.pdf). */
function decodeExtended(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const match = /^([^']*)'[^']*'(.*)$/.exec(value);
  if (!match?.[2]) return undefined;
  try {
    return decodeURIComponent(match[2]);
  } catch {
    return undefined;
  }
}
