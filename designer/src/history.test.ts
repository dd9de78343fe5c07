import { describe, expect, it } from 'vitest';
import { History } from './history';

describe('History', () => {
  it('undoes and redoes, and a new edit clears the redo stack', () => {
    const h = new History(1);
    h.push(2);
    h.push(3);
    expect(h.undo()).toBe(2);
    expect(h.undo()).toBe(1);
    expect(h.undo()).toBeUndefined();
    expect(h.redo()).toBe(2);
    h.push(5);
    expect(h.canRedo).toBe(false);
    expect(h.present).toBe(5);
    h.replace(6);
    expect(h.undo()).toBe(2);
  });

  it('keeps at most limit steps', () => {
    const h = new History(0, 3);
    for (let i = 1; i <= 10; i++) h.push(i);
    let n = 0;
    while (h.undo() !== undefined) n++;
    expect(n).toBe(3);
  });
});
