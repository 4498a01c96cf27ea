/**
 * Notices an agent changing the built-ins that the miner's own code in the agent's worker relies
 * on (decoding state updates, checking replies): `Array.prototype.push` replaced, `JSON.parse`
 * swapped, a property added to `Object.prototype`. After that every update would fail inside the
 * kit, blamed on the validator's state, for as long as the worker lives; noticed, the worker is
 * replaced by a fresh agent instead. `Math` and `Date` are left to the agent: seeding
 * `Math.random` or shifting the clock is its own business.
 *
 * ```ts
 * const changed = watchBuiltins(); // before the agent is loaded
 * // ... the agent runs ...
 * const what = changed(); // "Array.prototype.push", or null
 * ```
 * @module
 */

/** The built-in objects watched, by name. */
function watched(): [string, object][] {
  const typedArray = Object.getPrototypeOf(Uint8Array) as { prototype: object };
  const named: [string, object][] = [
    ["Object", Object],
    ["Array", Array],
    ["Function", Function],
    ["String", String],
    ["Number", Number],
    ["Boolean", Boolean],
    ["Symbol", Symbol],
    ["BigInt", BigInt],
    ["Promise", Promise],
    ["Map", Map],
    ["Set", Set],
    ["WeakMap", WeakMap],
    ["RegExp", RegExp],
    ["Error", Error],
    ["ArrayBuffer", ArrayBuffer],
    ["DataView", DataView],
    ["Uint8Array", Uint8Array],
    ["TextDecoder", TextDecoder],
    ["TextEncoder", TextEncoder],
  ];
  const objects: [string, object][] = [["JSON", JSON], ["Reflect", Reflect], [
    "TypedArray.prototype",
    typedArray.prototype,
  ]];
  for (const [name, constructor] of named) {
    objects.push([name, constructor]);
    objects.push([`${name}.prototype`, (constructor as { prototype: object }).prototype]);
  }
  return objects;
}

/** What a property holds: its value, or its accessors. */
function slot(descriptor: PropertyDescriptor): unknown[] {
  return "value" in descriptor ? [descriptor.value] : [descriptor.get, descriptor.set];
}

/**
 * Takes note of the built-ins now; the function returned names the first one changed since
 * (replaced, deleted, a global rebound, or a property added to `Object.prototype`), or null.
 */
export function watchBuiltins(): () => string | null {
  const objects = watched();
  const globals = objects.filter(([name]) => !name.includes(".")).map(([name, value]) =>
    [name, value] as const
  );
  const slots = objects.map(([name, object]) => ({
    name,
    object,
    properties: Reflect.ownKeys(object).map((key) => ({
      key,
      slot: slot(Object.getOwnPropertyDescriptor(object, key)!),
    })),
  }));
  const objectKeys = new Set(Reflect.ownKeys(Object.prototype));
  return () => {
    for (const [name, value] of globals) {
      if ((globalThis as Record<string, unknown>)[name] !== value) return name;
    }
    for (const { name, object, properties } of slots) {
      for (const { key, slot: before } of properties) {
        const descriptor = Object.getOwnPropertyDescriptor(object, key);
        const now = descriptor === undefined ? [] : slot(descriptor);
        if (now.length !== before.length || now.some((v, i) => !Object.is(v, before[i]))) {
          return `${name}.${String(key)}`;
        }
      }
    }
    for (const key of Reflect.ownKeys(Object.prototype)) {
      if (!objectKeys.has(key)) return `Object.prototype.${String(key)} (added)`;
    }
    return null;
  };
}
