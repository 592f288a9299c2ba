// Cache commits are durable (README: "fsync for cache commits"): every blob and manifest is
// fsynced before its rename, and the folder it was renamed into is fsynced after. Proven on a child
// process under strace, which prints the path behind each descriptor (-y).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { unifiedImage } from '../../fixtures/images/make.ts';
import { blobPath, manifestPath } from '../../src/images/store/paths.ts';
import { tempDir } from '../helpers/images.ts';
import { requireCommand } from '../helpers/requirements.ts';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const NODE = existsSync(join(ROOT, 'node_modules/node/bin/node'))
  ? join(ROOT, 'node_modules/node/bin/node')
  : process.execPath;

let t: { dir: string; cleanup: () => Promise<void> };
beforeEach(async () => {
  t = await tempDir();
});
afterEach(() => t.cleanup());

interface Call {
  readonly name: string;
  readonly args: string;
}

/** strace -f -y output as successful calls, in order (`<unfinished ...>` / `<... resumed>` pairs joined). */
function calls(log: string): Call[] {
  const out: Call[] = [];
  const pending = new Map<string, string>();
  for (const line of log.split('\n')) {
    const m = /^(\d+)\s+(.*)$/.exec(line.trim());
    if (!m) continue;
    const pid = m[1]!;
    const text = m[2]!;
    if (text.endsWith('<unfinished ...>')) {
      pending.set(pid, text.slice(0, -'<unfinished ...>'.length));
      continue;
    }
    const resumed = /^<\.\.\. \w+ resumed>(.*)$/.exec(text);
    const whole = resumed ? `${pending.get(pid) ?? ''}${resumed[1]}` : text;
    if (resumed) pending.delete(pid);
    const c = /^(\w+)\((.*)\)\s+=\s+0$/.exec(whole.trim());
    if (c) out.push({ name: c[1]!, args: c[2]! });
  }
  return out;
}

const isRename = (c: Call): boolean => c.name === 'rename' || c.name.startsWith('renameat');
const quoted = (c: Call): string[] => [...c.args.matchAll(/"([^"]*)"/g)].map((m) => m[1]!);
const fsynced = (c: Call): string | undefined =>
  c.name === 'fsync' || c.name === 'fdatasync' ? /^\d+<(.*)>$/.exec(c.args)?.[1] : undefined;

/** The file was fsynced before it was renamed to `dest`, and dest's folder was fsynced after. */
function expectDurableCommit(trace: Call[], dest: string): void {
  const i = trace.findIndex((c) => isRename(c) && quoted(c).at(-1) === dest);
  expect(i, `no rename to ${dest} in the trace`).toBeGreaterThan(-1);
  const tmp = quoted(trace[i]!)[0]!;
  expect(
    trace.slice(0, i).some((c) => fsynced(c) === tmp),
    `${tmp} was not fsynced before its rename`,
  ).toBe(true);
  expect(
    trace.slice(i + 1).some((c) => fsynced(c) === dirname(dest)),
    `${dirname(dest)} was not fsynced after the rename to ${dest}`,
  ).toBe(true);
}

describe('cache commits are durable', () => {
  it('fsyncs each blob and manifest before its rename, and its folder after it', async () => {
    requireCommand('strace', 'strace');
    const img = await unifiedImage(256 * 1024);
    const file = join(t.dir, 'image.tar.gz');
    await writeFile(file, img.files[0]!);
    const log = join(t.dir, 'strace.log');
    const { stdout } = await run(
      'strace',
      [
        ...['-f', '-y', '-qq', '-o', log, '-e', 'trace=fsync,fdatasync,rename,renameat,renameat2'],
        ...[NODE, 'test/helpers/import-once.ts', join(t.dir, 'state'), file],
      ],
      { cwd: ROOT, maxBuffer: 1 << 20 },
    ).catch((e: Error) => {
      throw new Error(`strace could not trace the child (is ptrace allowed here?): ${e.message}`);
    });
    const { cacheDir, fingerprint } = JSON.parse(stdout) as { cacheDir: string; fingerprint: string };
    expect(fingerprint).toBe(img.fingerprint);
    const trace = calls(await readFile(log, 'utf8'));
    expectDurableCommit(trace, blobPath(cacheDir, fingerprint));
    expectDurableCommit(trace, manifestPath(cacheDir, fingerprint));
  });
});
