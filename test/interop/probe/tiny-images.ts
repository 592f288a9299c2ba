// The two tiny unified images of the broad probe (fixtures/reference/lxd-5.0.2/probe-broad.txt, "Images"):
// metadata.yaml + rootfs/etc/<name> + a 40-line sha256 filler, packed reproducibly, imported private and public.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Cli, lxc } from '../lxd-harness.ts';

export interface TinyImages {
  readonly priv: string;
  readonly pub: string;
  remove(): Promise<void>;
}

function build(dir: string, word: string, alias: string): string {
  const root = join(dir, word);
  mkdirSync(join(root, 'rootfs', 'etc'), { recursive: true });
  writeFileSync(
    join(root, 'metadata.yaml'),
    `architecture: x86_64\ncreation_date: 1700000000\nproperties:\n  description: ${alias}\n  os: none\n`,
  );
  writeFileSync(join(root, 'rootfs', 'etc', 'bp-img'), `${word}\n`);
  let h = word;
  const lines: string[] = [];
  for (let i = 0; i < 40; i++) {
    h = createHash('sha256').update(h).digest('hex');
    lines.push(h);
  }
  writeFileSync(join(root, 'rootfs', 'etc', 'bp-filler'), `${lines.join('\n')}\n`);
  const tar = join(dir, `${word}.tar`);
  execFileSync('tar', [
    '--sort=name',
    '--mtime=@1700000000',
    '--owner=0',
    '--group=0',
    '--numeric-owner',
    '-C',
    root,
    '-cf',
    tar,
    'metadata.yaml',
    'rootfs',
  ]);
  execFileSync('gzip', ['-n', '-9', '-f', tar]);
  return `${tar}.gz`;
}

/** Imports `<prefix>-priv` (private) and `<prefix>-pub` (public) into the server; replaces leftovers. */
export async function importTinyImages(cli: Cli, prefix: string): Promise<TinyImages> {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  const fps: string[] = [];
  try {
    for (const [word, pub] of [
      ['private', false],
      ['public', true],
    ] as const) {
      const alias = `${prefix}-${word === 'private' ? 'priv' : 'pub'}`;
      const file = build(dir, word, alias);
      const fp = createHash('sha256').update(readFileSync(file)).digest('hex');
      await lxc(['image', 'delete', alias], { cli }).catch(() => {});
      await lxc(['image', 'delete', fp], { cli }).catch(() => {});
      await lxc(['image', 'import', file, '--alias', alias, ...(pub ? ['--public'] : [])], { cli });
      fps.push(fp);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return {
    priv: fps[0]!,
    pub: fps[1]!,
    remove: async () => {
      for (const fp of fps) await lxc(['image', 'delete', fp], { cli }).catch(() => {});
    },
  };
}
