// The `guestgate` command line.
import { Command, CommanderError } from 'commander';
import { exitCodeFor, EXIT } from './common.ts';
import { serveCommand } from './serve.ts';
import { instancesCommand } from './instances.ts';
import { seedCommand } from './seed.ts';
import { previewCommand } from './preview.ts';
import { cacheCommand } from './cache.ts';
import { imagesCommand } from './images.ts';
import { withExitOverride } from './exit-override.ts';

export function program(): Command {
  return new Command('guestgate')
    .description(
      'guest metadata and image gateway: the LXD/Incus guest API, cloud-init data and verified image exports',
    )
    .version('0.1.0')
    .exitOverride()
    .addCommand(serveCommand())
    .addCommand(withExitOverride(instancesCommand()))
    .addCommand(withExitOverride(seedCommand()))
    .addCommand(withExitOverride(previewCommand()))
    .addCommand(withExitOverride(imagesCommand()))
    .addCommand(withExitOverride(cacheCommand()));
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
