/**
 * A real OCI registry for tests: Debian's `docker-registry` (distribution 2.8) on 127.0.0.1 with a free port and
 * a temp storage folder, stopped and removed by `stop()` (and removed at once when the registry fails to start).
 * Faults a real registry cannot produce come from test/helpers/oci-stand-ins.ts, put in front of it.
 */
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa, type ResultPromise } from "execa";

const BINARY = "/usr/bin/docker-registry";

export interface OciRegistry {
  /** `127.0.0.1:<port>` */
  readonly host: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

export async function startRegistry(): Promise<OciRegistry> {
  if (!existsSync(BINARY)) throw new Error(`${BINARY} not found; install it: apt-get install -y docker-registry`);
  const dir = await mkdtemp(join(tmpdir(), "modelfleet-registry-"));
  const port = await freePort();
  const config = join(dir, "config.yml");
  await writeFile(
    config,
    [
      "version: 0.1",
      "log:",
      "  level: error",
      "storage:",
      "  filesystem:",
      `    rootdirectory: ${join(dir, "data")}`,
      "  delete:",
      "    enabled: true",
      "http:",
      `  addr: 127.0.0.1:${port}`,
      "",
    ].join("\n"),
  );
  const child: ResultPromise = execa(BINARY, ["serve", config], { reject: false });
  const host = `127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    const ok = await fetch(`http://${host}/v2/`).then((r) => r.status === 200).catch(() => false);
    if (ok) break;
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill();
      const result = await child;
      await rm(dir, { recursive: true, force: true });
      throw new Error(`docker-registry did not start on ${host}: ${String(result.stderr)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    host,
    stop: async () => {
      child.kill();
      await child;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
