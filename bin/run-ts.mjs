// Runs a TypeScript entry point through tsx's loader, so `npx circle`, `npm start` and the
// demo work straight from the sources with no build step.
import { register } from "tsx/esm/api";
import { pathToFileURL } from "node:url";
import { resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";

register();
const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

export async function runTs(relativePath) {
  return import(pathToFileURL(resolve(root, relativePath)).href);
}
