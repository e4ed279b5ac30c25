// PostgreSQL advisory locks Circle takes, as (class, id) pairs: the two-int form keeps them apart
// from the per-chat locks, which use the one-bigint form.
export const LOCK_CLASS = 0x43_49_52; // "CIR"
/** Every write transaction takes it first: writes run one at a time, as on SQLite (postgres.ts). */
export const WRITER_LOCK = 1;
/** Held while migrations are applied, so instances starting together apply each one once. */
export const MIGRATION_LOCK = 2;
