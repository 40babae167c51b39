// The three Reflect metadata functions tsyringe (a dependency of @peculiar/x509) looks for when it
// loads. @peculiar/x509 registers its classes without constructor parameter metadata, so a plain
// per-object map is all tsyringe needs; a full reflect-metadata polyfill would be one more
// dependency for nothing. Installed only where no polyfill is present already. Import this module
// before @peculiar/x509 (ESM evaluates a module's imports in order).

type Target = object;
const store = new WeakMap<Target, Map<unknown, unknown>>();

function own(target: Target): Map<unknown, unknown> {
  let m = store.get(target);
  if (m === undefined) store.set(target, (m = new Map()));
  return m;
}

const shim = {
  defineMetadata(key: unknown, value: unknown, target: Target): void {
    own(target).set(key, value);
  },
  getOwnMetadata(key: unknown, target: Target): unknown {
    return store.get(target)?.get(key);
  },
  getMetadata(key: unknown, target: Target): unknown {
    for (let t: Target | null = target; t !== null; t = Object.getPrototypeOf(t) as Target | null) {
      const m = store.get(t);
      if (m?.has(key) === true) return m.get(key);
    }
    return undefined;
  },
};

const reflect = Reflect as unknown as Record<string, unknown>;
if (typeof reflect['getMetadata'] !== 'function') {
  for (const [name, fn] of Object.entries(shim)) reflect[name] = fn;
}
