// Which role features and background loops the production bot runs. Kept apart from main.ts so
// the demo and end-to-end tests start exactly the same set.
import type { Composer } from "grammy";
import type { CircleContext } from "./context.js";
import type { Services } from "./services.js";

export function extraFeatures(): ((s: Services) => Composer<CircleContext>)[] {
  return [];
}

export interface Background {
  stop(): Promise<void>;
}

export function startBackground(_s: Services): Background {
  return { async stop() {} };
}
