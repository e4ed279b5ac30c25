-- CreateTable
CREATE TABLE "InboxUpdate" (
    "updateId" BIGINT NOT NULL PRIMARY KEY,
    "payload" TEXT NOT NULL,
    "receivedAt" DATETIME NOT NULL,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "retryAt" DATETIME
);

