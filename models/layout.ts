/**
 * Where a model's files live, for every delivery path (the download Job, `bundle create --models-dir`, `bundle load
 * --models-target`, the engines' mount): `<root>/<owner>--<name>/<revision>/<files…>`, with `modelfleet-manifest.json`
 * next to the files. Hugging Face forbids `--` and `..` in repository ids (huggingface_hub
 * src/huggingface_hub/utils/_validators.py, validate_repo_id, @ee0a4510f4bc15e26cb722be2efc2bdb01383ca0), so the folder
 * name maps back to exactly one repository. One folder per revision: a new revision never overwrites the old one.
 *
 * models/download-job.mjs runs in the cluster without this package and keeps its own one-line copy of the rule;
 * test/models/download-job.test.ts checks that both agree.
 */
import { join } from "node:path";

/** `owner/name` as Hugging Face accepts it: word characters, `-` and `.`, no `--` or `..`, at most 96 per part. */
const REPO = /^[\w.-]{1,96}\/[\w.-]{1,96}$/;
const COMMIT = /^[0-9a-f]{40}$/;

/** Throws an Error naming the value and what is allowed when `repo` is not `owner/name`. */
export function checkRepo(repo: string): void {
  if (!REPO.test(repo) || repo.includes("--") || repo.includes("..") || /(^|\/)[.-]|[.-]($|\/)/.test(repo)) {
    throw new Error(
      `model repository ${JSON.stringify(repo)} is not a Hugging Face repository id: expected "owner/name" (letters, digits, _ - ., ` +
        `no "--" or "..", not starting or ending with - or .), e.g. "Qwen/Qwen3-0.6B"`,
    );
  }
}

/** Throws an Error naming the value when `revision` is not a full commit SHA (branches and tags move; a store must not). */
export function checkRevision(revision: string): void {
  if (!COMMIT.test(revision)) {
    throw new Error(
      `model revision ${JSON.stringify(revision)} is not a commit SHA: expected 40 lower-case hex digits. ` +
        `Pin the commit shown on the model's "Files and versions" page (or \`git ls-remote\`), not a branch or tag`,
    );
  }
}

/** The folder name of a repository: its `/` replaced by `--` (`Qwen/Qwen3-0.6B` → `Qwen--Qwen3-0.6B`). */
export function repoFolderName(repo: string): string {
  checkRepo(repo);
  return repo.replace("/", "--");
}

/** The folder holding one revision of one model under a store root. */
export function modelDir(root: string, repo: string, revision: string): string {
  checkRevision(revision);
  return join(root, repoFolderName(repo), revision);
}
