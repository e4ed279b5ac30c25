// What Telegram works out from an upload: a MIME type from the file name, and for photos the
// image format and dimensions (a photo that is not an image, or too elongated, is refused).

const MIME_BY_EXTENSION: Record<string, string> = {
  pdf: "application/pdf",
  csv: "text/csv",
  txt: "text/plain",
  json: "application/json",
  html: "text/html",
  zip: "application/zip",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  svg: "image/svg+xml",
  xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
  docx: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  ogg: "audio/ogg",
  mp3: "audio/mpeg",
  mp4: "video/mp4",
};

export function mimeTypeOf(filename: string): string {
  const extension = filename.includes(".") ? filename.split(".").pop()?.toLowerCase() : undefined;
  return (extension && MIME_BY_EXTENSION[extension]) || "application/octet-stream";
}

export interface ImageInfo {
  format: "png" | "jpeg" | "gif" | "webp";
  width: number;
  height: number;
}

/** Format and size of a PNG, JPEG, GIF or WebP image; undefined for anything else. */
export function imageInfo(data: Buffer): ImageInfo | undefined {
  if (
    data.length >= 24 &&
    data.readUInt32BE(0) === 0x89504e47 &&
    data.toString("ascii", 12, 16) === "IHDR"
  ) {
    return { format: "png", width: data.readUInt32BE(16), height: data.readUInt32BE(20) };
  }
  if (
    data.length >= 10 &&
    (data.toString("ascii", 0, 6) === "GIF87a" || data.toString("ascii", 0, 6) === "GIF89a")
  ) {
    return { format: "gif", width: data.readUInt16LE(6), height: data.readUInt16LE(8) };
  }
  if (
    data.length >= 30 &&
    data.toString("ascii", 0, 4) === "RIFF" &&
    data.toString("ascii", 8, 12) === "WEBP"
  ) {
    return webpInfo(data);
  }
  if (data.length >= 4 && data[0] === 0xff && data[1] === 0xd8) return jpegInfo(data);
  return undefined;
}

function jpegInfo(data: Buffer): ImageInfo | undefined {
  let position = 2;
  while (position + 9 < data.length) {
    if (data[position] !== 0xff) return undefined;
    const marker = data[position + 1] ?? 0;
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      position += 2;
      continue;
    }
    const length = data.readUInt16BE(position + 2);
    // Start-of-frame markers carry the dimensions (C4, C8 and CC are other segment types).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return {
        format: "jpeg",
        height: data.readUInt16BE(position + 5),
        width: data.readUInt16BE(position + 7),
      };
    }
    position += 2 + length;
  }
  return undefined;
}

function webpInfo(data: Buffer): ImageInfo | undefined {
  const chunk = data.toString("ascii", 12, 16);
  if (chunk === "VP8X") {
    return {
      format: "webp",
      width: 1 + data.readUIntLE(24, 3),
      height: 1 + data.readUIntLE(27, 3),
    };
  }
  if (chunk === "VP8 ") {
    return {
      format: "webp",
      width: data.readUInt16LE(26) & 0x3fff,
      height: data.readUInt16LE(28) & 0x3fff,
    };
  }
  if (chunk === "VP8L") {
    const bits = data.readUInt32LE(21);
    return { format: "webp", width: (bits & 0x3fff) + 1, height: ((bits >> 14) & 0x3fff) + 1 };
  }
  return undefined;
}

/** Telegram's limits for photos: width + height at most 10000, aspect ratio at most 20. */
export function photoDimensionsValid(width: number, height: number): boolean {
  if (width <= 0 || height <= 0) return false;
  return width + height <= 10_000 && Math.max(width, height) / Math.min(width, height) <= 20;
}
