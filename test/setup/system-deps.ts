/**
 * Vitest global setup: the integration suites need real PostgreSQL 15, skopeo, umoci, Debian's docker-registry, openssl
 * and promtool (Debian prometheus).
 * Missing ones are installed with apt-get when we run as root; otherwise the run stops at once with the exact
 * command to run. Never skipped silently.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

interface Requirement {
  readonly debianPackage: string;
  readonly present: () => boolean;
}

const onPath = (command: string) => () => spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;

export const REQUIREMENTS: readonly Requirement[] = [
  { debianPackage: "postgresql-15", present: () => existsSync("/usr/lib/postgresql/15/bin/initdb") && existsSync("/usr/lib/postgresql/15/bin/pg_ctl") },
  { debianPackage: "postgresql-client-15", present: () => existsSync("/usr/lib/postgresql/15/bin/pg_dump") && existsSync("/usr/lib/postgresql/15/bin/psql") },
  { debianPackage: "skopeo", present: onPath("skopeo") },
  { debianPackage: "umoci", present: onPath("umoci") },
  { debianPackage: "docker-registry", present: () => existsSync("/usr/bin/docker-registry") },
  // Signed bundles are checked with the openssl CLI too, as an operator would by hand.
  { debianPackage: "openssl", present: onPath("openssl") },
  // promtool parses and evaluates the autoscalers' PromQL (test/components/scaling.test.ts).
  { debianPackage: "prometheus", present: onPath("promtool") },
];

export default function setup(): void {
  const missing = REQUIREMENTS.filter((r) => !r.present()).map((r) => r.debianPackage);
  if (missing.length === 0) return;
  const line = `apt-get install -y --no-install-recommends ${missing.join(" ")}`;
  const canInstall = process.getuid?.() === 0 && onPath("apt-get")();
  if (!canInstall) {
    throw new Error(`The test suite needs Debian packages that are not installed: ${missing.join(", ")}.\nRun as root:\n  ${line}\nthen npm test again.`);
  }
  process.stderr.write(`Installing test dependencies: ${line}\n`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  execFileSync("apt-get", ["update"], { stdio: "inherit", env });
  execFileSync("apt-get", ["install", "-y", "--no-install-recommends", ...missing], { stdio: "inherit", env });
  const still = REQUIREMENTS.filter((r) => !r.present()).map((r) => r.debianPackage);
  if (still.length > 0) throw new Error(`apt-get finished but these are still missing: ${still.join(", ")}; install them by hand: ${line}`);
}
