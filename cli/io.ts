/** Where a command writes and how it reports its exit code: the process by default, a capture in tests. */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Never process.exit: the caller decides when the process ends. */
  readonly setExitCode: (code: number) => void;
}

/** Commands that read `MODELFLEET_DB_URL` (registry, promote) also get the environment. */
export interface EnvCliIo extends CliIo {
  readonly env: NodeJS.ProcessEnv;
}

export interface BundleCliIo extends EnvCliIo {
  /** Whether stderr is a terminal (progress bars) — false in tests and pipes. */
  readonly isTty: boolean;
}

export function processIo(): CliIo {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    setExitCode: (code) => {
      process.exitCode = code;
    },
  };
}

export function envIo(): EnvCliIo {
  return { ...processIo(), env: process.env };
}

export function bundleIo(): BundleCliIo {
  return { ...envIo(), isTty: process.stderr.isTTY === true };
}
