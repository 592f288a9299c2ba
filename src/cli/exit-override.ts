// commander copies exitOverride() only to subcommands made with .command(); ours are added with
// addCommand, so apply it down the tree: usage errors then reach main() and exit 2, not 1.
import type { Command } from 'commander';

export function withExitOverride(cmd: Command): Command {
  cmd.exitOverride();
  for (const c of cmd.commands) withExitOverride(c);
  return cmd;
}
