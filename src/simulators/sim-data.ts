/**
 * Deterministic data helpers shared by the vendor simulators' generators: a seeded PRNG and the
 * values drawn from it, and listing by id.
 */

/** mulberry32 PRNG: returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Rng {
  next(): number;
  /** Integer in [min, max] inclusive. */
  int(min: number, max: number): number;
  bool(pTrue?: number): boolean;
  pick<T>(items: readonly T[]): T;
  hex(len: number): string;
  digits(len: number): string;
  mac(prefix?: string): string;
  uuid(): string;
}

export function createRng(seed: number): Rng {
  const next = mulberry32(seed);
  const int = (min: number, max: number): number => min + Math.floor(next() * (max - min + 1));
  const hex = (len: number): string => {
    let s = '';
    for (let i = 0; i < len; i++) s += '0123456789abcdef'[int(0, 15)];
    return s;
  };
  return {
    next,
    int,
    bool: (p = 0.5) => next() < p,
    pick<T>(items: readonly T[]): T {
      if (items.length === 0) throw new Error('pick from empty list');
      return items[int(0, items.length - 1)] as T;
    },
    hex,
    digits: (len: number) => {
      let s = '';
      for (let i = 0; i < len; i++) s += String(int(0, 9));
      return s;
    },
    mac: (prefix?: string) => {
      const parts = prefix ? prefix.split(':') : [];
      while (parts.length < 6) parts.push(hex(2));
      return parts.join(':');
    },
    uuid: () => {
      const h = hex(32);
      const variant = '89ab'[int(0, 3)] ?? '8';
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
    },
  };
}

/** The items sorted by id (the same array when already sorted). */
export function byId<T extends { id: number }>(items: T[]): T[] {
  for (let i = 1; i < items.length; i++) {
    const prev = items[i - 1];
    const cur = items[i];
    if (prev && cur && prev.id > cur.id) return [...items].sort((a, b) => a.id - b.id);
  }
  return items;
}
