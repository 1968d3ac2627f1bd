/** Timeouts owned by one piece of work (an exec, a run), all cancelled together when it ends. */
export class TimerSet {
  private readonly timers = new Set<NodeJS.Timeout>();

  /** Runs fn after ms unless cleared first. */
  after(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  clear(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
