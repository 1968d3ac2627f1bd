/**
 * A background pass (dispatch queued runs, fire schedules, send webhooks) that never runs twice
 * at once: a call during a pass shares it and makes it run once more afterwards, so no request
 * for work is lost and none piles up.
 */
export class CoalescedPass<T> {
  private current: Promise<T> | null = null;
  private again = false;

  /** `keepGoing` false stops the repeat loop (the owner is stopping). */
  constructor(private readonly pass: () => Promise<T>, private readonly keepGoing: () => boolean = () => true) {}

  run(): Promise<T> {
    if (this.current) {
      this.again = true;
      return this.current;
    }
    this.current = (async () => {
      let result: T;
      do {
        this.again = false;
        result = await this.pass();
      } while (this.again && this.keepGoing());
      return result;
    })().finally(() => (this.current = null));
    return this.current;
  }

  /** The pass in progress, if any. */
  get running(): Promise<T> | null {
    return this.current;
  }
}
