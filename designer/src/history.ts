// Undo/redo over immutable snapshots of the canvas. A snapshot is pushed for each finished edit
// (a drop, a connection, a finished drag, a field change), not for every pointer move.
export class History<T> {
  private past: T[] = [];
  private future: T[] = [];
  constructor(
    public present: T,
    private readonly limit = 100,
  ) {}

  push(next: T): void {
    this.past.push(this.present);
    if (this.past.length > this.limit) this.past.shift();
    this.present = next;
    this.future = [];
  }

  /** replace changes the present without making an undo step (live counts, selection). */
  replace(next: T): void {
    this.present = next;
  }

  undo(): T | undefined {
    const prev = this.past.pop();
    if (prev === undefined) return undefined;
    this.future.push(this.present);
    this.present = prev;
    return prev;
  }

  redo(): T | undefined {
    const next = this.future.pop();
    if (next === undefined) return undefined;
    this.past.push(this.present);
    this.present = next;
    return next;
  }

  get canUndo(): boolean {
    return this.past.length > 0;
  }

  get canRedo(): boolean {
    return this.future.length > 0;
  }
}
