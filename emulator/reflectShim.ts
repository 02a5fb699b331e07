/**
 * A minimal `Reflect` metadata store, installed only when none exists.
 *
 * Why: `@peculiar/x509` depends on `tsyringe`, which refuses to load unless `Reflect.getMetadata` exists (it expects
 * the `reflect-metadata` package, which this project does not install). tsyringe only stores and reads constructor
 * parameter metadata, so a WeakMap-backed store of the four functions it and TypeScript's `__metadata` helper call
 * is enough. Import this module before `@peculiar/x509`.
 */

type MetadataTarget = object;
type MetadataKey = unknown;

const store = new WeakMap<MetadataTarget, Map<string | symbol | undefined, Map<MetadataKey, unknown>>>();

function table(target: MetadataTarget, property: string | symbol | undefined, create: boolean): Map<MetadataKey, unknown> | undefined {
  let byProperty = store.get(target);
  if (!byProperty) {
    if (!create) return undefined;
    byProperty = new Map();
    store.set(target, byProperty);
  }
  let entries = byProperty.get(property);
  if (!entries && create) {
    entries = new Map();
    byProperty.set(property, entries);
  }
  return entries;
}

interface ReflectMetadataApi {
  defineMetadata(key: MetadataKey, value: unknown, target: MetadataTarget, property?: string | symbol): void;
  getOwnMetadata(key: MetadataKey, target: MetadataTarget, property?: string | symbol): unknown;
  getMetadata(key: MetadataKey, target: MetadataTarget, property?: string | symbol): unknown;
  metadata(key: MetadataKey, value: unknown): (target: MetadataTarget, property?: string | symbol) => void;
}

const reflect = Reflect as unknown as Partial<ReflectMetadataApi>;

if (typeof reflect.getMetadata !== 'function') {
  const api: ReflectMetadataApi = {
    defineMetadata(key, value, target, property) {
      table(target, property, true)?.set(key, value);
    },
    getOwnMetadata(key, target, property) {
      return table(target, property, false)?.get(key);
    },
    getMetadata(key, target, property) {
      // Walk the prototype chain, as reflect-metadata does.
      for (let current: object | null = target; current !== null; current = Object.getPrototypeOf(current) as object | null) {
        const entries = table(current, property, false);
        if (entries?.has(key)) return entries.get(key);
      }
      return undefined;
    },
    metadata(key, value) {
      return (target, property) => api.defineMetadata(key, value, target, property);
    },
  };
  Object.assign(Reflect, api);
}

export {};
