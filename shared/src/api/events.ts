/**
 * The relay's live event stream (`GET /api/events`, server-sent events). Every event is one SSE
 * message: `id: <relay epoch>-<seq>`, `event: <type>`, `data: <the JSON below>`. Events are
 * filtered per subscriber by agent access and role before they are sent.
 *
 * `stream.reset` says "what you missed cannot be replayed (relay restarted, or the backlog no
 * longer reaches back to your Last-Event-ID): refetch what you show".
 */
import { z } from 'zod';
import { agentViewSchema } from './schemas.js';
import { runViewSchema } from './runner.js';
import { hostMetricsSchema } from '../protocol/metrics.js';
import { fireStatusSchema } from './schedules.js';

const agentEvent = <T extends string>(type: T) => z.object({ type: z.literal(type), agent: agentViewSchema });
const runEvent = <T extends string>(type: T) => z.object({ type: z.literal(type), run: runViewSchema });
const scheduleEvent = <T extends string>(type: T) => z.object({ type: z.literal(type), scheduleId: z.string(), name: z.string() });
const terminalEvent = <T extends string>(type: T) => z.object({ type: z.literal(type), agentId: z.string(), agentName: z.string(), openedBy: z.string() });

export const relayEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('stream.reset'), reason: z.string() }),
  agentEvent('agent.online'),
  agentEvent('agent.offline'),
  /** Renamed, re-tagged, or its host facts changed. */
  agentEvent('agent.updated'),
  z.object({ type: z.literal('agent.deleted'), agentId: z.string(), name: z.string() }),
  z.object({ type: z.literal('agent.metrics'), agentId: z.string(), sample: hostMetricsSchema }),
  runEvent('run.created'),
  /** Status or facts changed (started, pid and directory known). */
  runEvent('run.updated'),
  /** Reached an end state. */
  runEvent('run.finished'),
  scheduleEvent('schedule.created'),
  scheduleEvent('schedule.updated'),
  scheduleEvent('schedule.deleted'),
  scheduleEvent('schedule.fired').extend({ status: fireStatusSchema, runIds: z.array(z.string()) }),
  /** A terminal connection opened on an agent (a new shell or an attach). */
  terminalEvent('terminal.opened'),
  /** A terminal connection closed (the viewer left or the shell ended). */
  terminalEvent('terminal.ended'),
]);
export type RelayEvent = z.infer<typeof relayEventSchema>;
export type RelayEventType = RelayEvent['type'];
export const RELAY_EVENT_TYPES = relayEventSchema.options.map((o) => o.shape.type.value) as readonly RelayEventType[];

/** `GET /api/agents/{agent}/metrics`: the last samples the relay holds (oldest first). */
export const agentMetricsResponseSchema = z.object({ agentId: z.string(), samples: z.array(hostMetricsSchema) });
export type AgentMetricsResponse = z.infer<typeof agentMetricsResponseSchema>;
