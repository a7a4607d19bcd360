/**
 * For the policies' explicit-stack walks over parsed YAML. YAML aliases can make a map or list contain itself
 * (`a: &x [*x]` parses to a list holding that very list), so a walk that follows every child would never end. A walk
 * pushes a `Leave` marker when it enters a map or list and does not enter one that is already open on the way down
 * from the root. One that is only shared (an alias to a sibling) is walked at every place it appears.
 */

/** Pushed when a walk enters a map or list, popped once everything under it has been walked. */
export interface Leave {
  readonly leave: object;
}

export function isLeave(entry: object): entry is Leave {
  return "leave" in entry;
}

/** Whether the walk goes into `value`; entering a map or list opens it until its `Leave` is popped. */
export function enter<T>(value: unknown, open: Set<object>, stack: (T | Leave)[]): boolean {
  if (value === null || typeof value !== "object") return true;
  if (open.has(value)) return false;
  open.add(value);
  stack.push({ leave: value });
  return true;
}
