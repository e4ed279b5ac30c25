-- The head of the audit chain: the last event's seq and hash in one row. Every audited write
-- updates it first, so concurrent writers (other processes, and on PostgreSQL other instances)
-- serialise on this row, and `circle audit verify` can tell when events were cut off the end.
CREATE TABLE "AuditHead" (
    "id" INTEGER NOT NULL PRIMARY KEY,
    "seq" INTEGER NOT NULL,
    "hash" TEXT NOT NULL
);

INSERT INTO "AuditHead" ("id", "seq", "hash")
SELECT 1,
       COALESCE((SELECT MAX("seq") FROM "AuditEvent"), 0),
       COALESCE((SELECT "hash" FROM "AuditEvent" ORDER BY "seq" DESC LIMIT 1),
                '0000000000000000000000000000000000000000000000000000000000000000');
