// `guestgate seed <instance> --out DIR | --iso FILE`: the instance's NoCloud seed (meta-data,
// user-data, vendor-data, network-config: the same content the HTTP seed serves) as a folder or a
// cidata ISO, for VMs with no network at boot. The instance comes from the running gateway, or
// from an inventory YAML file with --from-file (no gateway needed).
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Command } from 'commander';
import { GuestgateError } from '../errors.ts';
import { parseInstanceYaml } from '../inventory/parse.ts';
import type { Instance } from '../inventory/model.ts';
import { NOCLOUD_FILES, noCloudFiles } from '../cloudinit/seed.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { AdminClient, adminSocketFrom, instancePath } from './client.ts';
import { configOption, outputOption, print, table, type OutputFormat } from './output.ts';
import { makeCidataIso } from './iso.ts';

interface SeedOpts {
  out?: string;
  iso?: string;
  fromFile?: string;
  admin?: string;
  config?: string;
  output: OutputFormat;
}

async function instanceFor(name: string | undefined, o: SeedOpts): Promise<Instance> {
  if (o.fromFile) return parseInstanceYaml(readFileSync(o.fromFile, 'utf8'), o.fromFile);
  if (!name) throw new GuestgateError('E_BAD_REQUEST', 'name an instance, or give --from-file FILE');
  const c = new AdminClient(adminSocketFrom(o));
  return parseInstanceYaml(await c.text(instancePath(name), 'application/yaml'), `instance ${name}`);
}

export function seedCommand(): Command {
  return new Command('seed')
    .description(
      'write a NoCloud seed (cidata) for an instance: a folder (--out) or an ISO 9660 image labelled cidata (--iso)',
    )
    .argument('[instance]', 'instance name (or project/name) on the running gateway')
    .option('--out <dir>', 'write meta-data, user-data, vendor-data, network-config into this folder')
    .option('--iso <file>', 'write a cidata ISO image (needs genisoimage, xorriso or mkisofs)')
    .option('--from-file <yaml>', 'take the instance from an inventory YAML file instead of the gateway')
    .option('--admin <socket>', 'admin socket of the running gateway')
    .addOption(configOption())
    .addOption(outputOption())
    .action(async (name: string | undefined, o: SeedOpts) => {
      if (!o.out === !o.iso) throw new GuestgateError('E_BAD_REQUEST', 'give exactly one of --out DIR or --iso FILE');
      const instance = await instanceFor(name, o);
      const files = noCloudFiles(instance);
      let written: string;
      if (o.out) {
        mkdirSync(o.out, { recursive: true });
        for (const f of NOCLOUD_FILES) await writeFileAtomic(join(o.out, f), files[f], 0o600);
        written = resolve(o.out);
      } else {
        const iso = resolve(o.iso!);
        const tmp = mkdtempSync(join(tmpdir(), 'guestgate-seed-'));
        try {
          for (const f of NOCLOUD_FILES) await writeFileAtomic(join(tmp, f), files[f], 0o644);
          mkdirSync(dirname(iso), { recursive: true });
          const partial = `${iso}.partial`;
          makeCidataIso(tmp, NOCLOUD_FILES, partial);
          renameSync(partial, iso);
        } finally {
          rmSync(tmp, { recursive: true, force: true });
        }
        written = iso;
      }
      const summary = {
        instance: instance.key,
        written,
        files: NOCLOUD_FILES.map((f) => ({ name: f, bytes: Buffer.byteLength(files[f]) })),
      };
      print(
        o.output,
        summary,
        () =>
          `${written}\n${table(
            ['FILE', 'BYTES'],
            summary.files.map((f) => [f.name, String(f.bytes)]),
          )}`,
      );
    });
}
