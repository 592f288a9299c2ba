// The `guestgate` command line.
import { Command, CommanderError } from 'commander';
import { exitCodeFor, EXIT } from './common.ts';
import { serveCommand } from './serve.ts';
import { instancesCommand } from './instances.ts';
import { seedCommand } from './seed.ts';
import { previewCommand } from './preview.ts';
import { cacheCommand } from './cache.ts';
import { imagesCommand } from './images.ts';
import { attachCommand, detachCommand } from './attach.ts';
import { restartCommand } from './restart.ts';
import { withExitOverride } from './exit-override.ts';
import { VERSION } from '../util/version.ts';

export function program(): Command {
  return showParentOptions(
    new Command('guestgate')
      .description(
        'guest metadata and image gateway: the LXD/Incus guest API, cloud-init data and verified image exports',
      )
      .version(VERSION)
      .exitOverride()
      .addCommand(serveCommand())
      .addCommand(withExitOverride(instancesCommand()))
      .addCommand(withExitOverride(seedCommand()))
      .addCommand(withExitOverride(previewCommand()))
      .addCommand(withExitOverride(imagesCommand()))
      .addCommand(withExitOverride(cacheCommand()))
      .addCommand(withExitOverride(attachCommand()))
      .addCommand(withExitOverride(detachCommand()))
      .addCommand(withExitOverride(restartCommand())),
  );
}

/** Every subcommand's --help lists the options it inherits (-c/--config, --admin) under "Global Options". */
function showParentOptions(cmd: Command): Command {
  cmd.configureHelp({ showGlobalOptions: true });
  for (const c of cmd.commands) showParentOptions(c);
  return cmd;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await program().parseAsync(argv, { from: 'user' });
    return EXIT.OK;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    process.stderr.write(`guestgate: ${(e as Error).message}\n`);
    return exitCodeFor(e);
  }
}
