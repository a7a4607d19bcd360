import cliProgress from "cli-progress";

/** Progress of long work: a bar with bytes, rate and ETA on a terminal, JSON lines with --json, nothing otherwise. */
export interface Progress {
  phase(name: string, totalBytes: number): void;
  advance(bytes: number): void;
  message(text: string): void;
  done(): void;
}

export const silentProgress: Progress = { phase: () => undefined, advance: () => undefined, message: () => undefined, done: () => undefined };

export function jsonProgress(write: (line: string) => void): Progress {
  let phase = "";
  let total = 0;
  let done = 0;
  let lastEmit = 0;
  const started = Date.now();
  const emit = (force = false) => {
    const now = Date.now();
    if (!force && now - lastEmit < 500) return;
    lastEmit = now;
    const seconds = (now - started) / 1000;
    const rate = seconds > 0 ? done / seconds : 0;
    write(`${JSON.stringify({ phase, bytes: done, totalBytes: total, bytesPerSecond: Math.round(rate), etaSeconds: rate > 0 ? Math.round((total - done) / rate) : null })}\n`);
  };
  return {
    phase: (name, totalBytes) => {
      phase = name;
      total = totalBytes;
      done = 0;
      emit(true);
    },
    advance: (bytes) => {
      done += bytes;
      emit();
    },
    message: (text) => write(`${JSON.stringify({ phase, message: text })}\n`),
    done: () => emit(true),
  };
}

export function barProgress(stream: NodeJS.WriteStream): Progress {
  let bar: cliProgress.SingleBar | undefined;
  const stop = () => {
    bar?.stop();
    bar = undefined;
  };
  return {
    phase: (name, totalBytes) => {
      stop();
      bar = new cliProgress.SingleBar(
        { stream, format: `${name.padEnd(10)} [{bar}] {percentage}% | {value_h}/{total_h} | {rate}/s | ETA {eta_formatted}`, hideCursor: true, formatValue: (v, _o, type) => (type === "value" || type === "total" ? human(v) : String(v)) },
        cliProgress.Presets.shades_classic,
      );
      bar.start(totalBytes, 0, { value_h: "0 B", total_h: human(totalBytes), rate: "0 B" });
    },
    advance: (bytes) => {
      if (!bar) return;
      const value = bar.getProgress() * bar.getTotal() + bytes;
      const elapsed = Math.max(0.001, (Date.now() - (bar as unknown as { startTime: number }).startTime) / 1000);
      bar.update(value, { value_h: human(value), total_h: human(bar.getTotal()), rate: human(value / elapsed) });
    },
    message: (text) => {
      stop();
      stream.write(`${text}\n`);
    },
    done: stop,
  };
}

export function human(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}
