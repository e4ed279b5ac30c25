#!/usr/bin/env node
import { runTs } from "./run-ts.mjs";
await runTs("src/demo/main.ts");
