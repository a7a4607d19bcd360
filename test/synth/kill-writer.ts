// `node --import tsx test/synth/kill-writer.ts <dir> <files.json> <step> <n>`: writes the files of files.json
// ([{ path, content }]) as the synth folder <dir>, and SIGKILLs itself right after the n-th <step> (synth/write.ts
// WriteStep). A real process dying at a chosen point between the writer's steps.
import { readFileSync } from "node:fs";
import { writeSynthFolder } from "../../synth/write.js";

const [dir = "", filesFile = "", step = "", nth = "1"] = process.argv.slice(2);
let seen = 0;
await writeSynthFolder(dir, JSON.parse(readFileSync(filesFile, "utf8")) as { path: string; content: string }[], {
  onStep: (current) => {
    if (current === step && ++seen === Number(nth)) process.kill(process.pid, "SIGKILL");
  },
});
