// A long-lived child process for the CLI property: receives `{ argv, cwd }` over IPC, runs `main()` of the compiled
// CLI (build/cli/main.js, what bin/modelfleet.js runs; test/setup/build.ts keeps it current) in-process in that
// folder with stdout and stderr captured, and answers `{ code, stdout, stderr, crash }`. The parent kills and
// restarts it when a case runs past its time bound, so a hang (even a blocking read of a FIFO) fails one case
// instead of the whole suite. Run as `node --import tsx test/property/cli-worker.ts` (tsx compiles this file only).
process.setSourceMapsEnabled(true);
const { main } = (await import(new URL("../../build/cli/main.js", import.meta.url).href)) as typeof import("../../cli/main.js");

interface Request {
  readonly id: number;
  readonly argv: readonly string[];
  readonly cwd: string;
}

let current: { out: string[]; err: string[]; crash: string[] } | undefined;
const realOut = process.stdout.write.bind(process.stdout);
const realErr = process.stderr.write.bind(process.stderr);
const capture = (sink: "out" | "err") =>
  ((chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
    if (!current) return (sink === "out" ? realOut : realErr)(chunk as string);
    current[sink].push(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"));
    const callback = rest.find((r) => typeof r === "function") as (() => void) | undefined;
    callback?.();
    return true;
  }) as typeof process.stdout.write;
process.stdout.write = capture("out");
process.stderr.write = capture("err");

// An exception that escapes main() (a stray promise, a timer) is a crash of the case that was running.
const onCrash = (error: unknown): void => {
  const text = error instanceof Error ? `${error.name}: ${error.message}\n${error.stack ?? ""}` : String(error);
  if (current) current.crash.push(text);
};
process.on("uncaughtException", onCrash);
process.on("unhandledRejection", onCrash);

process.on("message", (message: Request) => {
  void (async () => {
    current = { out: [], err: [], crash: [] };
    process.exitCode = undefined;
    let code: number;
    try {
      process.chdir(message.cwd);
      code = await main(["node", "modelfleet", ...message.argv]);
    } catch (error) {
      onCrash(error);
      code = -1;
    }
    // Let stray callbacks of this case (timers, streams) run before the answer, so their crashes are counted here.
    await new Promise((resolve) => setTimeout(resolve, 20));
    const done = current;
    current = undefined;
    process.exitCode = undefined;
    process.send?.({ id: message.id, code, stdout: done.out.join(""), stderr: done.err.join(""), crash: done.crash.join("\n") });
  })();
});
process.send?.({ ready: true });
