/** A small server-sent-events reader for tests: fetch with a bearer token, parse messages, wait for one. */
import { relayEventSchema, type RelayEvent } from '@rexec/shared';

export interface SseMessage {
  id: string | null;
  event: string;
  data: RelayEvent;
}

export class SseClient {
  readonly messages: SseMessage[] = [];
  /** Raw text received (comments included). */
  raw = '';
  status = 0;
  private waiters: (() => void)[] = [];
  done: Promise<void>;

  private constructor(res: Response, private readonly ac: AbortController) {
    this.status = res.status;
    this.done = this.read(res).catch(() => undefined);
  }

  static async open(url: string, token: string, lastEventId?: string): Promise<SseClient> {
    const ac = new AbortController();
    const res = await fetch(`${url}/api/events`, { headers: { Authorization: `Bearer ${token}`, Accept: 'text/event-stream', ...(lastEventId ? { 'Last-Event-ID': lastEventId } : {}) }, signal: ac.signal });
    return new SseClient(res, ac);
  }

  private async read(res: Response): Promise<void> {
    if (!res.body) return;
    const decoder = new TextDecoder();
    let buf = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      const text = decoder.decode(chunk, { stream: true });
      this.raw += text;
      buf += text;
      let i: number;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        let id: string | null = null;
        let event = 'message';
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('id: ')) id = line.slice(4);
          else if (line.startsWith('event: ')) event = line.slice(7);
          else if (line.startsWith('data: ')) data.push(line.slice(6));
        }
        if (!data.length) continue;
        this.messages.push({ id, event, data: relayEventSchema.parse(JSON.parse(data.join('\n'))) });
        for (const w of this.waiters.splice(0)) w();
      }
    }
  }

  /** The first message (already received or coming) that matches, or a rejection after `ms`. */
  async waitFor(what: string, pred: (e: RelayEvent) => boolean, ms = 15_000): Promise<SseMessage> {
    const deadline = Date.now() + ms;
    for (;;) {
      const hit = this.messages.find((m) => pred(m.data));
      if (hit) return hit;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no event for ${what} within ${ms} ms; got: ${this.messages.map((m) => m.event).join(', ') || 'nothing'}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => (clearTimeout(t), resolve()));
      });
    }
  }

  lastId(): string | undefined {
    return [...this.messages].reverse().find((m) => m.id)?.id ?? undefined;
  }

  close(): void {
    this.ac.abort();
  }
}
