-- 0001_init: users, API tokens, agents, terminal sessions, exec records, settings.

CREATE TABLE "settings" (
    "key" TEXT NOT NULL,
    "value" TEXT NOT NULL,
    "updated_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "settings_pkey" PRIMARY KEY ("key")
);

CREATE TABLE "users" (
    "id" TEXT NOT NULL,
    "username" TEXT NOT NULL,
    "password_hash" TEXT NOT NULL,
    "role" TEXT NOT NULL DEFAULT 'operator',
    "disabled" BOOLEAN NOT NULL DEFAULT false,
    "must_change_password" BOOLEAN NOT NULL DEFAULT false,
    "password_version" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "users_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "users_username_key" ON "users"("username");

CREATE TABLE "api_tokens" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "token_hash" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "user_id" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMP(3),
    "last_used_at" TIMESTAMP(3),
    "revoked_at" TIMESTAMP(3),
    CONSTRAINT "api_tokens_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "api_tokens_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE UNIQUE INDEX "api_tokens_token_hash_key" ON "api_tokens"("token_hash");

CREATE TABLE "agents" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "type" TEXT NOT NULL DEFAULT 'linux',
    "hostname" TEXT NOT NULL DEFAULT '',
    "os" TEXT NOT NULL DEFAULT '',
    "arch" TEXT NOT NULL DEFAULT '',
    "shell" TEXT NOT NULL DEFAULT '/bin/bash',
    "tags" TEXT[] NOT NULL DEFAULT ARRAY[]::TEXT[],
    "version" TEXT NOT NULL DEFAULT '',
    "credential_hash" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'offline',
    "connected_at" TIMESTAMP(3),
    "last_seen_at" TIMESTAMP(3),
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "agents_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "agents_name_key" ON "agents"("name");
CREATE UNIQUE INDEX "agents_credential_hash_key" ON "agents"("credential_hash");
CREATE INDEX "agents_status_idx" ON "agents"("status");

CREATE TABLE "terminal_sessions" (
    "id" TEXT NOT NULL,
    "agent_id" TEXT NOT NULL,
    "opened_by" TEXT NOT NULL,
    "cols" INTEGER NOT NULL,
    "rows" INTEGER NOT NULL,
    "started_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "ended_at" TIMESTAMP(3),
    "exit_code" INTEGER,
    "end_reason" TEXT,
    CONSTRAINT "terminal_sessions_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "terminal_sessions_agent_id_fkey" FOREIGN KEY ("agent_id") REFERENCES "agents"("id") ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE INDEX "terminal_sessions_agent_id_started_at_idx" ON "terminal_sessions"("agent_id", "started_at");

CREATE TABLE "exec_records" (
    "id" TEXT NOT NULL,
    "agent_id" TEXT NOT NULL,
    "requested_by" TEXT NOT NULL,
    "command" TEXT NOT NULL,
    "started_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finished_at" TIMESTAMP(3),
    "exit_code" INTEGER,
    "signal" TEXT,
    "timed_out" BOOLEAN NOT NULL DEFAULT false,
    "duration_ms" INTEGER,
    "error" TEXT,
    CONSTRAINT "exec_records_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "exec_records_agent_id_fkey" FOREIGN KEY ("agent_id") REFERENCES "agents"("id") ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE INDEX "exec_records_agent_id_started_at_idx" ON "exec_records"("agent_id", "started_at");
