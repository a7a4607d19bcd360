/**
 * For the policies' explicit-stack walks over parsed YAML. YAML aliases can make a map or list contain itself
 * (`a: &x [*x]` parses to a list holding that very list), so a walk that follows every child would never end. A walk
 * pushes a `Leave` marker when it enters a map or list and does not enter one that is already open on the way down
 * from the root. One that is only shared (an alias to a sibling) is walked at every place it appears.
 */

/** Pushed when a walk enters a map or list, popped once everything under it has been walked. */
interface Leave {
  readonly leave: object;
}

function isLeave(entry: object): entry is Leave {
  return "leave" in entry;
}

/** Whether the walk goes into `value`; entering a map or list opens it until its `Leave` is popped. */
function enter<T>(value: unknown, open: Set<object>, stack: (T | Leave)[]): boolean {
  if (value === null || typeof value !== "object") return true;
  if (open.has(value)) return false;
  open.add(value);
  stack.push({ leave: value });
  return true;
}

/**
 * Walks depth-first from `root` with an explicit stack, not recursion, so a document nested 20,000 deep is judged, not
 * a stack overflow. `visit` sees each step once per place it appears and pushes the children to walk (last first, so
 * they are visited in order); a map or list already open on the path from the root is not entered again.
 */
export function walkOnce<T extends { readonly value: unknown }>(root: T, visit: (step: T, push: (child: T) => void) => void): void {
  const open = new Set<object>();
  const stack: (T | Leave)[] = [root];
  const push = (child: T): void => void stack.push(child);
  for (let entry = stack.pop(); entry !== undefined; entry = stack.pop()) {
    if (isLeave(entry)) {
      open.delete(entry.leave);
      continue;
    }
    if (enter(entry.value, open, stack)) visit(entry, push);
  }
}
