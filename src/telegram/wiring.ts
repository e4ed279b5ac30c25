// Which role features and background loops the production bot runs. Kept apart from main.ts so
// the demo and end-to-end tests start exactly the same set.
import type { Composer } from "grammy";
import type { CircleContext } from "./context.js";
import type { Services } from "./services.js";
import { startScheduler } from "../scheduler/loop.js";
import { notifyDeps } from "./outbound.js";
import { researcherFeature } from "./features/researcher.js";
import { facilitatorFeature } from "./features/facilitator.js";

export function extraFeatures(): ((s: Services) => Composer<CircleContext>)[] {
  return [facilitatorFeature, researcherFeature];
}

export interface Background {
  stop(): Promise<void>;
}

/** The durable scheduler (reminders, session reminders, protocol alerts), polling SCHEDULER_POLL_MS. */
export function startBackground(s: Services): Background {
  return startScheduler(notifyDeps(s), {
    pollMs: s.config.SCHEDULER_POLL_MS,
    leaseMs: s.config.SCHEDULER_LEASE_SECONDS * 1000,
  });
}
