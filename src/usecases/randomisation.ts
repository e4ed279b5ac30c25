// Permuted-block randomisation stratified by gender. The allocation sequence is generated from a
// seed, one block at a time, and kept in the Allocation table; a row is revealed (linked to a
// participant) only when that participant is added, and every allocation is audited.
import type { Tx } from "../db/client.js";
import { audit, type AuditActor } from "../store/audit.js";
import { seededRandom, shuffle } from "./random.js";
import { getOrCreateSecret, getSetting, setSetting } from "./settings.js";

export type Arm = "experimental" | "control";
const ARMS: Arm[] = ["experimental", "control"];
/** Block sizes drawn at random per block, so the next allocation cannot be guessed at a block's end. */
const BLOCK_SIZES = [2, 4];

export async function randomisationSeed(tx: Tx, configured?: string): Promise<string> {
  const stored = await getSetting(tx, "randomisation.seed");
  if (stored) return stored;
  if (configured) {
    await setSetting(tx, "randomisation.seed", configured);
    return configured;
  }
  return getOrCreateSecret(tx, "randomisation.seed");
}

/** The arms of block `block` in `stratum` (deterministic for a seed). */
export function blockSequence(seed: string, stratum: string, block: number): Arm[] {
  const rnd = seededRandom(seed, stratum, block);
  const size = BLOCK_SIZES[Math.floor(rnd() * BLOCK_SIZES.length)]!;
  const arms = Array.from({ length: size }, (_, i) => ARMS[i % ARMS.length]!);
  return shuffle(arms, rnd);
}

/** Allocates the next arm of the participant's stratum. Call inside the transaction that creates them. */
export async function allocate(
  tx: Tx,
  participantId: number,
  stratum: string,
  actor: AuditActor,
  configuredSeed?: string,
): Promise<Arm> {
  const seed = await randomisationSeed(tx, configuredSeed);
  let next = await tx.allocation.findFirst({
    where: { stratum, participantId: null },
    orderBy: { position: "asc" },
  });
  if (!next) {
    const last = await tx.allocation.findFirst({
      where: { stratum },
      orderBy: { position: "desc" },
    });
    const block = (last?.block ?? 0) + 1;
    const startPosition = (last?.position ?? 0) + 1;
    const arms = blockSequence(seed, stratum, block);
    await tx.allocation.createMany({
      data: arms.map((arm, i) => ({ stratum, block, position: startPosition + i, arm })),
    });
    next = await tx.allocation.findFirstOrThrow({
      where: { stratum, participantId: null },
      orderBy: { position: "asc" },
    });
  }
  await tx.allocation.update({
    where: { id: next.id },
    data: { participantId, allocatedAt: new Date() },
  });
  await audit(tx, {
    actor,
    action: "randomisation.allocate",
    entity: "Participant",
    entityId: participantId,
    data: { stratum, position: next.position, block: next.block, arm: next.arm },
  });
  return next.arm as Arm;
}
