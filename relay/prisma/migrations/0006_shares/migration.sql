-- 0006_shares: share links to one terminal session (read-only or read-write), hashed at rest,
-- with a required expiry; revoking keeps the row for the record.

CREATE TABLE "terminal_shares" (
    "id" TEXT NOT NULL,
    "session_id" TEXT NOT NULL,
    "token_hash" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "label" TEXT NOT NULL DEFAULT '',
    "mode" TEXT NOT NULL,
    "created_by" TEXT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMP(3) NOT NULL,
    "revoked_at" TIMESTAMP(3),
    "last_used_at" TIMESTAMP(3),
    CONSTRAINT "terminal_shares_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "terminal_shares_token_hash_key" ON "terminal_shares"("token_hash");
CREATE INDEX "terminal_shares_session_id_idx" ON "terminal_shares"("session_id");
ALTER TABLE "terminal_shares" ADD CONSTRAINT "terminal_shares_session_id_fkey" FOREIGN KEY ("session_id") REFERENCES "terminal_sessions"("id") ON DELETE CASCADE ON UPDATE CASCADE;
