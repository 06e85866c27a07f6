import { describe, expect, it } from "vitest";
import { Lru } from "../../../lib/shared/lru.ts";

describe("Lru", () => {
  it("forgets the least recently used entry past its size, reads counting as use", () => {
    const lru = new Lru<number>(2);
    lru.set("a", 1);
    lru.set("b", 2);
    expect(lru.get("a")).toBe(1); // a is now the most recent
    lru.set("c", 3);
    expect([lru.get("a"), lru.get("b"), lru.get("c")]).toEqual([1, undefined, 3]);
  });

  it("replaces a value in place and deletes on request", () => {
    const lru = new Lru<string>(2);
    lru.set("a", "x");
    lru.set("a", "y");
    lru.set("b", "z");
    expect(lru.get("a")).toBe("y");
    lru.delete("a");
    expect(lru.get("a")).toBeUndefined();
    expect(lru.get("b")).toBe("z");
  });
});
