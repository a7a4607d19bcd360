import { Command, Option } from "commander";

/**
 * Gives `command`'s option `primary` (e.g. `--stack-file`) a second, hidden spelling (`alias`, e.g.
 * `--config-file <path>`) kept for scripts written before the names were unified. The primary's help line should say
 * `(alias: …)`. Before the action runs the alias's value moves to the primary; both given with different values is
 * a usage error (exit 2). `required` stands in for `requiredOption`/`makeOptionMandatory`, which would reject a
 * value given through the alias.
 */
export function addAlias(command: Command, primary: string, alias: Option, options: { readonly required?: boolean } = {}): Command {
  const target = command.options.find((o) => o.long === primary);
  if (!target) throw new Error(`addAlias: ${command.name()} has no option ${primary}`);
  const primaryKey = target.attributeName();
  const aliasKey = alias.attributeName();
  command.addOption(alias.hideHelp());
  command.hook("preAction", (_hooked, actionCommand) => {
    if (actionCommand !== command) return;
    const viaAlias: unknown = command.getOptionValue(aliasKey);
    const direct: unknown = command.getOptionValue(primaryKey);
    if (viaAlias !== undefined) {
      if (direct !== undefined && direct !== viaAlias) {
        command.error(`error: ${primary} and ${alias.long} name the same setting (${alias.long} is the old spelling) but were given different values; give only ${primary}`, { exitCode: 2, code: "modelfleet.aliasConflict" });
      }
      command.setOptionValue(primaryKey, viaAlias);
    }
    if (options.required && command.getOptionValue(primaryKey) === undefined) {
      command.error(`error: required option '${target.flags}' not specified`, { exitCode: 2, code: "commander.missingMandatoryOptionValue" });
    }
  });
  return command;
}
