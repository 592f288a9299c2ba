// `guestgate seed <instance> --out DIR | --iso FILE | --rootfs DIR`: the instance's NoCloud seed
// (meta-data, user-data, vendor-data, network-config), rendered through its template set for a
// trigger (see seed-set.ts), as a folder or a cidata ISO, for VMs with no network at boot; or every
// template file written into a rootfs exactly where LXD 5.0.2 writes them at the next start with
// that trigger pending (any runtime then gets LXD's behaviour). The instance comes from the running
// gateway, or from an inventory YAML file with --from-file (no gateway needed).
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { GuestgateError } from '../errors.ts';
import { parseInstanceYaml } from '../inventory/parse.ts';
import type { Instance } from '../inventory/model.ts';
import { NOCLOUD_FILES } from '../cloudinit/seed.ts';
import { renderSet, templatedSeed } from '../cloudinit/seed-templates.ts';
import { TRIGGERS, type Trigger } from '../templates/context.ts';
import { triggersAtStart } from '../templates/model.ts';
import { writeRendered } from '../templates/rootfs.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { AdminClient, adminSocketFrom, instancePath } from './client.ts';
import { configOption, outputOption, print, table, type OutputFormat } from './output.ts';
import { makeCidataIso } from './iso.ts';
import { type SetOptions, templateSetFor } from './seed-set.ts';

interface SeedOpts extends SetOptions {
  out?: string;
  iso?: string;
  rootfs?: string;
  trigger: Trigger;
  owner: string;
  fromFile?: string;
  admin?: string;
  output: OutputFormat;
}

export async function instanceFor(
  name: string | undefined,
  o: SeedOpts | { fromFile?: string; admin?: string; config?: string },
): Promise<Instance> {
  if (o.fromFile) return parseInstanceYaml(readFileSync(o.fromFile, 'utf8'), o.fromFile);
  if (!name) throw new GuestgateError('E_BAD_REQUEST', 'name an instance, or give --from-file FILE');
  const c = new AdminClient(adminSocketFrom(o));
  return parseInstanceYaml(await c.text(instancePath(name), 'application/yaml'), `instance ${name}`);
}

function owner(s: string): { uid: number; gid: number } {
  const m = /^(\d+):(\d+)$/.exec(s);
  if (!m) throw new GuestgateError('E_BAD_REQUEST', `--owner: expected UID:GID, got ${JSON.stringify(s)}`);
  return { uid: Number(m[1]), gid: Number(m[2]) };
}

async function writeSeed(o: SeedOpts, files: Record<string, string>): Promise<string> {
  if (o.out) {
    mkdirSync(o.out, { recursive: true });
    for (const f of NOCLOUD_FILES) await writeFileAtomic(join(o.out, f), files[f]!, 0o600);
    return resolve(o.out);
  }
  const iso = resolve(o.iso!);
  const tmp = mkdtempSync(join(tmpdir(), 'guestgate-seed-'));
  try {
    for (const f of NOCLOUD_FILES) await writeFileAtomic(join(tmp, f), files[f]!, 0o644);
    mkdirSync(dirname(iso), { recursive: true });
    const partial = `${iso}.partial`;
    makeCidataIso(tmp, NOCLOUD_FILES, partial);
    renameSync(partial, iso);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return iso;
}

export function seedCommand(): Command {
  return new Command('seed')
    .description(
      'write a NoCloud seed (cidata) for an instance: a folder (--out), an ISO 9660 image labelled cidata (--iso), or its template files into a rootfs where LXD writes them (--rootfs)',
    )
    .argument('[instance]', 'instance name (or project/name) on the running gateway')
    .option('--out <dir>', 'write meta-data, user-data, vendor-data, network-config into this folder')
    .option('--iso <file>', 'write a cidata ISO image (needs genisoimage, xorriso or mkisofs)')
    .option('--rootfs <dir>', "write every template file of the trigger (then `start`'s) into this rootfs, as LXD does")
    .addOption(new Option('--trigger <trigger>', 'template trigger').choices(TRIGGERS).default('create'))
    .option('--owner <uid:gid>', 'owner of files --rootfs creates (the instance root on the host)', '0:0')
    .option('--image <file>', "render this image's templates (unified tarball or metadata tarball)")
    .option('--templates <dir>', 'render this template folder (metadata.yaml + templates/)')
    .option('--from-file <yaml>', 'take the instance from an inventory YAML file instead of the gateway')
    .option('--admin <socket>', 'admin socket of the running gateway')
    .addOption(configOption())
    .addOption(outputOption())
    .action(async (name: string | undefined, o: SeedOpts) => {
      if ([o.out, o.iso, o.rootfs].filter(Boolean).length !== 1)
        throw new GuestgateError('E_BAD_REQUEST', 'give exactly one of --out DIR, --iso FILE or --rootfs DIR');
      const instance = await instanceFor(name, o);
      const set = await templateSetFor(instance, o);
      if (o.rootfs) {
        if (!statSync(o.rootfs, { throwIfNoEntry: false })?.isDirectory())
          throw new GuestgateError('E_BAD_REQUEST', `--rootfs: ${o.rootfs} is not a directory`);
        const who = owner(o.owner);
        const written = triggersAtStart(o.trigger).flatMap((t) =>
          writeRendered(resolve(o.rootfs!), renderSet(set, instance, t), who).map((w) => ({ trigger: t, ...w })),
        );
        const summary = { instance: instance.key, templates: set.origin, rootfs: resolve(o.rootfs), files: written };
        print(o.output, summary, () =>
          table(
            ['TRIGGER', 'PATH', 'ACTION', 'BYTES'],
            written.map((w) => [w.trigger, w.path, w.action, String(w.bytes)]),
          ),
        );
        return;
      }
      const { files, from } = templatedSeed(set, instance, o.trigger);
      const written = await writeSeed(o, files);
      const summary = {
        instance: instance.key,
        written,
        files: NOCLOUD_FILES.map((f) => ({ name: f, bytes: Buffer.byteLength(files[f]), template: from[f] })),
      };
      print(
        o.output,
        summary,
        () =>
          `${written}\n${table(
            ['FILE', 'BYTES', 'TEMPLATE'],
            summary.files.map((f) => [f.name, String(f.bytes), f.template || '(guestgate)']),
          )}`,
      );
    });
}
