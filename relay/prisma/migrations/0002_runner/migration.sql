-- 0002_runner: agent profiles, prompts, runs and their live output.

CREATE TABLE "agent_profiles" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "slug" TEXT NOT NULL,
    "agent_type" TEXT NOT NULL,
    "invocation_template" TEXT NOT NULL,
    "default_timeout" DOUBLE PRECISION NOT NULL,
    "max_timeout" DOUBLE PRECISION NOT NULL,
    "shell" TEXT NOT NULL DEFAULT '',
    "env" JSONB NOT NULL DEFAULT '[]',
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "icon" TEXT NOT NULL DEFAULT '',
    "pty" BOOLEAN NOT NULL DEFAULT false,
    "built_in" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "agent_profiles_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "agent_profiles_slug_key" ON "agent_profiles"("slug");

CREATE TABLE "prompts" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "content" TEXT NOT NULL,
    "type" TEXT NOT NULL DEFAULT 'inline',
    "agent_profile_id" TEXT,
    "working_directory" TEXT NOT NULL DEFAULT '',
    "timeout" DOUBLE PRECISION,
    "tags" TEXT[] NOT NULL DEFAULT ARRAY[]::TEXT[],
    "variables" JSONB NOT NULL DEFAULT '[]',
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "prompts_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "prompts_agent_profile_id_fkey" FOREIGN KEY ("agent_profile_id") REFERENCES "agent_profiles"("id") ON DELETE SET NULL ON UPDATE CASCADE
);
CREATE INDEX "prompts_agent_profile_id_idx" ON "prompts"("agent_profile_id");

CREATE TABLE "runs" (
    "id" TEXT NOT NULL,
    "prompt_id" TEXT,
    "schedule_id" TEXT,
    "agent_profile_id" TEXT,
    "agent_id" TEXT NOT NULL,
    "agent_name" TEXT NOT NULL,
    "prompt_content" TEXT NOT NULL,
    "working_directory" TEXT NOT NULL,
    "command" TEXT NOT NULL,
    "pty" BOOLEAN NOT NULL DEFAULT false,
    "timeout_minutes" DOUBLE PRECISION NOT NULL,
    "launch_spec" TEXT,
    "pid" INTEGER,
    "status" TEXT NOT NULL DEFAULT 'queued',
    "status_reason" TEXT,
    "exit_code" INTEGER,
    "signal" TEXT,
    "stdout" TEXT NOT NULL DEFAULT '',
    "stderr" TEXT NOT NULL DEFAULT '',
    "raw_output" TEXT NOT NULL DEFAULT '',
    "output_bytes" INTEGER NOT NULL DEFAULT 0,
    "truncated" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMP(3),
    "finished_at" TIMESTAMP(3),
    "duration_seconds" DOUBLE PRECISION,
    "triggered_by" TEXT NOT NULL DEFAULT 'manual',
    "requested_by" TEXT NOT NULL,
    "resource_usage" JSONB,
    CONSTRAINT "runs_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "runs_prompt_id_fkey" FOREIGN KEY ("prompt_id") REFERENCES "prompts"("id") ON DELETE SET NULL ON UPDATE CASCADE,
    CONSTRAINT "runs_agent_profile_id_fkey" FOREIGN KEY ("agent_profile_id") REFERENCES "agent_profiles"("id") ON DELETE SET NULL ON UPDATE CASCADE
);
CREATE INDEX "runs_status_started_at_idx" ON "runs"("status", "started_at");
CREATE INDEX "runs_prompt_id_idx" ON "runs"("prompt_id");
CREATE INDEX "runs_schedule_id_idx" ON "runs"("schedule_id");
CREATE INDEX "runs_agent_id_created_at_idx" ON "runs"("agent_id", "created_at");
CREATE INDEX "runs_created_at_idx" ON "runs"("created_at");

CREATE TABLE "run_output_chunks" (
    "run_id" TEXT NOT NULL,
    "offset" INTEGER NOT NULL,
    "stream" TEXT NOT NULL,
    "data" BYTEA NOT NULL,
    CONSTRAINT "run_output_chunks_pkey" PRIMARY KEY ("run_id", "offset"),
    CONSTRAINT "run_output_chunks_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "runs"("id") ON DELETE CASCADE ON UPDATE CASCADE
);
