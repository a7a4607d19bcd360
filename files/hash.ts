import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { availableParallelism } from "node:os";

/** sha256 (hex) and size of a file, streamed: memory stays flat for any size. */
export async function hashFile(path: string, onBytes?: (n: number) => void): Promise<{ sha256: string; size: number }> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    const buffer = chunk as Buffer;
    hash.update(buffer);
    size += buffer.length;
    onBytes?.(buffer.length);
  }
  return { sha256: hash.digest("hex"), size };
}

/** Maps with at most `limit` tasks in flight, keeping order. Hashing is disk- and CPU-bound: one per core. */
export async function mapLimit<T, R>(items: readonly T[], fn: (item: T) => Promise<R>, limit = availableParallelism()): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}

/** `<hex>  <path>` lines, as `sha256sum` writes and `sha256sum -c` reads them. */
export function parseSha256Sums(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    const match = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
    if (match) out.set(match[2] as string, match[1] as string);
  }
  return out;
}

export function formatSha256Sums(entries: readonly { path: string; sha256: string }[]): string {
  return entries.map((e) => `${e.sha256}  ${e.path}\n`).join("");
}
