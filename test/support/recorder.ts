/**
 * A recording wrapper for a module's exports, bundled into the builds that
 * test/build/shim-surface.test.ts runs: every property read, call and construction made
 * through it, and through the objects it hands out, is noted as a path such as
 * `node-fetch().headers.get()` with the types of what came back. Plain-object arguments are
 * wrapped one level deep, so the options a caller sets and the module reads are noted too, as
 * `node-fetch(arg1).timeout`. Calls run on the real objects, so the module behaves as it would.
 */

/** Path -> the types (`typeof`, or "null") of the values seen there. */
export type Surface = Map<string, Set<string>>;

/** What was noted; the test's build re-exports it. @public (used by generated code knip cannot see) */
export const surface: Surface = new Map();
/** From each wrapper back to what it wraps, so methods run with their real `this`. */
const originals = new WeakMap<object, object>();

/**
 * Wraps a module's exports under `name`. ES-module interop is seen through: `default` on the
 * module reads as the module itself and `__esModule` is not noted, so a CommonJS original and
 * an ES-module stand-in record the same paths.
 * @public (called by the modules the test generates around each original or shim)
 */
export function record<T extends object>(name: string, exports: T): T {
  return wrap(exports, name, true) as T;
}

function note(path: string, value: unknown): void {
  const types = surface.get(path) ?? new Set<string>();
  types.add(value === null ? "null" : typeof value);
  surface.set(path, types);
}

type Member = ((...args: unknown[]) => unknown) & (new (...args: unknown[]) => object);

function wrap(value: unknown, path: string, isModule = false): unknown {
  if (!isBehaviour(value)) return value;
  // Typed as callable so the call traps type-check; they only fire when the value is one.
  const proxy: object = new Proxy(value as Member, {
    get(target, key) {
      const result: unknown = Reflect.get(target, key, target);
      // Symbols are internals; `then` is read by every `await`, not by the caller.
      if (typeof key === "symbol" || key === "then" || (isModule && key === "__esModule")) return result;
      const at = isModule && key === "default" ? path : `${path}.${key}`;
      note(at, result);
      return wrap(result, at);
    },
    apply: (target, self, args) => settle(`${path}()`, () => Reflect.apply(target, originals.get(self) ?? self, options(args, path))),
    construct: (target, args, newTarget) =>
      settle(`new ${path}()`, () => Reflect.construct(target, options(args, path), newTarget === proxy ? target : newTarget)) as object,
  });
  originals.set(proxy, value);
  return proxy;
}

/** Notes what a call gave back (or threw, or how its promise settled) and wraps it. */
function settle(path: string, run: () => unknown): unknown {
  let result: unknown;
  try {
    result = run();
  } catch (error) {
    note(`${path} throws`, error);
    throw wrap(error, `${path} throws`);
  }
  if (!(result instanceof Promise)) {
    note(path, result);
    return wrap(result, path);
  }
  return result.then(
    (resolved: unknown) => {
      note(path, resolved);
      return wrap(resolved, path);
    },
    (error: unknown) => {
      note(`${path} rejects`, error);
      throw wrap(error, `${path} rejects`);
    },
  );
}

/**
 * Arguments as the callee should see them: a wrapped object goes back to its original (what
 * one module does with another's object is not the caller's use), and a plain object is
 * wrapped to note which of the keys its caller set get read.
 */
function options(args: unknown[], path: string): unknown[] {
  return args.map((arg, index) => {
    if (!isPlainObject(arg)) return unwrap(arg);
    return new Proxy(arg, {
      get(target, key) {
        const result = unwrap(Reflect.get(target, key));
        if (typeof key === "string" && Object.hasOwn(target, key) && result !== undefined) note(`${path}(arg${index}).${key}`, result);
        return result;
      },
    });
  });
}

const unwrap = (value: unknown): unknown =>
  (typeof value === "object" || typeof value === "function") && value !== null ? (originals.get(value) ?? value) : value;

/** Functions and objects with behaviour are wrapped; plain data (parsed JSON, say) is not. */
function isBehaviour(value: unknown): value is object {
  if (typeof value === "function") return true;
  if (typeof value !== "object" || value === null) return false;
  return !isData(value);
}

function isData(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return typeof value !== "function";
  return (Array.isArray(value) || isPlainObject(value)) && Object.values(value).every(isData);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}
