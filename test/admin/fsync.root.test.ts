// The durability promise, checked at the system-call level: every acknowledged admin write fsyncs the
// new file, renames it into place and fsyncs the folder (for a delete: unlink, then fsync the folder),
// all BEFORE the acknowledgement leaves on the socket. strace, attached to the real gateway process
// (all its threads), is the witness; kill -9 alone cannot see a missing fsync (the page cache survives).
// Concurrent writes to different instances are group-committed (their files fsynced side by side, the
// folder fsynced once per batch), and each acknowledgement still waits for its own file and folder.
// Needs strace (apt-get install strace; installed when missing and root); fails naming it otherwise.
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { http, json, layout, spawnGateway, waitHealthy, type Layout } from '../helpers/service.ts';
import { attachStrace, requireStrace, type Syscall } from '../helpers/strace.ts';

let l: Layout | undefined;
let gw: ChildProcess | undefined;
async function stopGateway(): Promise<void> {
  if (gw && gw.exitCode === null) {
    const gone = new Promise((r) => gw!.once('exit', r));
    gw.kill('SIGTERM');
    await gone;
  }
  l?.cleanup();
}
afterAll(stopGateway);

const CALLS = ['fsync', 'fdatasync', 'rename', 'renameat', 'renameat2', 'unlink', 'unlinkat', 'write', 'writev'];

it('every acknowledged admin write: fsync(tmp) -> rename -> fsync(folder), or unlink -> fsync(folder), then the ack', async () => {
  requireStrace();
  l = layout({ a1: 'name: a1\nconfig:\n  user.seq: "0"\n' });
  gw = spawnGateway(l.configFile);
  await waitHealthy(l.adminSock);
  const tracer = await attachStrace(gw.pid!, CALLS, join(l.dir, 'strace.log'));
  const writes: { what: string; file: string; kind: 'put' | 'delete'; status: number }[] = [
    { what: 'PATCH a1', file: 'a1.yaml', kind: 'put', status: 200 },
    { what: 'POST n1', file: 'n1.yaml', kind: 'put', status: 201 },
    { what: 'PUT n1 config key', file: 'n1.yaml', kind: 'put', status: 200 },
    { what: 'DELETE n1', file: 'n1.yaml', kind: 'delete', status: 204 },
  ];
  const answers = [
    await http(l.adminSock, 'PATCH', '/1.0/instances/a1', ...json({ config: { 'user.seq': '1' } })),
    await http(l.adminSock, 'POST', '/1.0/instances', ...json({ name: 'n1', config: { 'user.n': '1' } })),
    await http(l.adminSock, 'PUT', '/1.0/instances/n1/config/user.n', ...json({ value: '2' })),
    await http(l.adminSock, 'DELETE', '/1.0/instances/n1'),
  ];
  const calls = await tracer.stop();
  for (const [i, a] of answers.entries()) expect(a.status, `${writes[i]!.what}: ${a.text}`).toBe(writes[i]!.status);

  const inv = l.inventory;
  const acks = calls.filter(
    (c) => /^write/.test(c.name) && /<(socket|UNIX)/.test(c.args) && /"HTTP\/1\.1 2\d\d /.test(c.args),
  );
  expect(
    acks.map((a) => /"HTTP\/1\.1 (\d+)/.exec(a.args)![1]),
    'one acknowledgement per request',
  ).toEqual(writes.map((w) => String(w.status)));
  const isDirSync = (c: Syscall) => /^f(data)?sync$/.test(c.name) && c.args.endsWith(`<${inv}>`);
  writes.forEach((w, k) => {
    const from = k === 0 ? -1 : acks[k - 1]!.started;
    const ack = acks[k]!;
    const inWindow = calls.filter((c) => c.started > from && c.started < ack.started);
    const label = `${w.what}: ${JSON.stringify(inWindow.filter((c) => !/^write/.test(c.name)).map((c) => `${c.name}(${c.args}) = ${c.result}`))}`;
    let placed: Syscall;
    if (w.kind === 'put') {
      const tmpSyncs = inWindow.filter(
        (c) => /^f(data)?sync$/.test(c.name) && c.args.includes(`<${inv}/.${w.file}.`) && c.args.endsWith('.tmp>'),
      );
      const renames = inWindow.filter((c) => /^rename/.test(c.name) && c.args.includes(`"${inv}/${w.file}"`));
      expect(tmpSyncs, `one fsync of the new file: ${label}`).toHaveLength(1);
      expect(renames, `one rename into place: ${label}`).toHaveLength(1);
      expect(tmpSyncs[0]!.returned, `fsync(tmp) returns before the rename: ${label}`).toBeLessThan(renames[0]!.started);
      placed = renames[0]!;
    } else {
      const unlinks = inWindow.filter((c) => /^unlink/.test(c.name) && c.args.includes(`"${inv}/${w.file}"`));
      expect(unlinks, `one unlink: ${label}`).toHaveLength(1);
      placed = unlinks[0]!;
    }
    expect(placed.result, label).toBe('0');
    const dirSyncs = inWindow.filter(isDirSync);
    expect(dirSyncs, `one fsync of the inventory folder: ${label}`).toHaveLength(1);
    expect(dirSyncs[0]!.started, `folder fsync after the rename/unlink: ${label}`).toBeGreaterThan(placed.returned);
    expect(dirSyncs[0]!.returned, `folder fsync returns before the ack: ${label}`).toBeLessThan(ack.started);
  });
  console.log(
    `fsync witness: ${writes.length} acknowledged admin writes, ${calls.filter(isDirSync).length} folder fsyncs`,
  );
});

it('concurrent writes to 40 instances: each ack after its own fsync(tmp) -> rename -> fsync(folder); fewer folder fsyncs than writes', async () => {
  requireStrace();
  await stopGateway();
  const names = Array.from({ length: 40 }, (_, i) => `c${i}`);
  l = layout(Object.fromEntries(names.map((n) => [n, `name: ${n}\nconfig:\n  user.seq: "0"\n`])));
  gw = spawnGateway(l.configFile);
  await waitHealthy(l.adminSock);
  const tracer = await attachStrace(gw.pid!, CALLS, join(l.dir, 'strace.log'), 4096);
  const answers = await Promise.all(
    names.map((n) => http(l!.adminSock, 'PATCH', `/1.0/instances/${n}`, ...json({ config: { 'user.seq': '1' } }))),
  );
  const calls = await tracer.stop();
  for (const a of answers) expect(a.status, a.text).toBe(200);
  const inv = l.inventory;
  const acks = calls.filter(
    (c) => /^write/.test(c.name) && /<(socket|UNIX)/.test(c.args) && /"HTTP\/1\.1 2\d\d /.test(c.args),
  );
  expect(acks).toHaveLength(names.length);
  const dirSyncs = calls.filter((c) => /^f(data)?sync$/.test(c.name) && c.args.endsWith(`<${inv}>`));
  for (const n of names) {
    const tmpSync = calls.find(
      (c) => /^f(data)?sync$/.test(c.name) && c.args.includes(`<${inv}/.${n}.yaml.`) && c.args.endsWith('.tmp>'),
    );
    const rename = calls.find((c) => /^rename/.test(c.name) && c.args.includes(`"${inv}/${n}.yaml"`));
    expect(tmpSync, `${n}: fsync of its new file`).toBeDefined();
    expect(rename, `${n}: its rename`).toBeDefined();
    expect(tmpSync!.returned, `${n}: fsync(tmp) before the rename`).toBeLessThan(rename!.started);
    // Its acknowledgement is the one whose body names it; before it, a folder fsync that started after its rename.
    const ack = acks.find((a) => a.args.includes(`\\"name\\":\\"${n}\\"`));
    expect(ack, `${n}: its acknowledgement`).toBeDefined();
    const durable = dirSyncs.find((d) => d.started > rename!.returned && d.returned < ack!.started);
    expect(durable, `${n}: a folder fsync between its rename and its ack`).toBeDefined();
  }
  expect(dirSyncs.length, 'folder fsyncs (group commit)').toBeLessThan(names.length);
  console.log(`group commit: ${names.length} concurrent admin writes, ${dirSyncs.length} folder fsyncs`);
});
