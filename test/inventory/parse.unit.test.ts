import { describe, expect, it } from 'vitest';
import { FileValueError } from '../../src/errors.ts';
import { instanceToYaml, parseInstanceYaml } from '../../src/inventory/parse.ts';

const F = '/inv/c1.yaml';

describe('instance files', () => {
  it('reads the shape lxc config show --expanded prints, plus identity', () => {
    const i = parseInstanceYaml(
      `architecture: x86_64
config:
  user.foo: bar
  limits.cpu: 2
  security.devlxd.images: true
devices:
  root: {path: /, pool: default, type: disk}
ephemeral: false
profiles: [default]
stateful: false
description: ""
name: c1
identity: {init_pid: 42, cgroup: /lxc.payload.c1/, root_uid: 1000000}
`,
      F,
    );
    expect(i.key).toBe('c1');
    expect(i.project).toBe('default');
    expect(i.type).toBe('container');
    expect(i.location).toBe('none');
    expect(i.config).toEqual({ 'user.foo': 'bar', 'limits.cpu': '2', 'security.devlxd.images': 'true' });
    expect(i.identity).toMatchObject({ initPid: 42, cgroup: '/lxc.payload.c1', rootUid: 1000000 });
  });

  it('keys instances of other projects as <project>_<name>', () => {
    expect(parseInstanceYaml('name: c1\nproject: blue\n', F).key).toBe('blue_c1');
  });

  it('names file and key for bad values', () => {
    expect(() => parseInstanceYaml('name: 1bad\n', F)).toThrow(`${F}: name: expected an instance name`);
    expect(() => parseInstanceYaml('name: c1\nconfig: {user.x: [1]}\n', F)).toThrow(
      `${F}: config.user.x: expected a string value, got a list`,
    );
    expect(() => parseInstanceYaml('name: c1\nidentity: {init_pid: -3}\n', F)).toThrow(
      `${F}: identity.init_pid: expected an integer >= 1`,
    );
    expect(() => parseInstanceYaml('name: c1\nidentity: {pid: 3}\n', F)).toThrow(`${F}: identity.pid: unknown key`);
    expect(() => parseInstanceYaml('- a\n', F)).toThrow(`${F}: expected a mapping`);
    expect(() => parseInstanceYaml('name: [\n', F)).toThrow(/invalid YAML/);
  });

  it('reports every unknown key (and every other problem) at once, each with file and key path', () => {
    let err: unknown;
    try {
      parseInstanceYaml('name: c1\nnmae: c1\nconfg: {}\nidentity: {pid: 3, cgruop: /x, init_pid: 0}\n', F);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FileValueError);
    const lines = (err as Error).message.split('\n');
    expect(lines.map((l) => l.replace(/ \(known keys: .*\)$/, ''))).toEqual([
      `${F}: nmae: unknown key`,
      `${F}: confg: unknown key`,
      `${F}: identity.pid: unknown key`,
      `${F}: identity.cgruop: unknown key`,
      `${F}: identity.init_pid: expected an integer >= 1, got 0`,
    ]);
    expect((err as FileValueError).key).toBe('nmae');
    expect((err as FileValueError).fields.problems).toHaveLength(5);
  });

  it('refuses a bare pid namespace inode and says how to express it safely', () => {
    expect(() => parseInstanceYaml('name: c1\nidentity: {pidns: 4026532178}\n', F)).toThrow(
      /identity\.pidns: a bare pid namespace inode cannot be held .* use `pidns_file:`/,
    );
  });

  it('never echoes file content in errors: key, expected shape and position only', () => {
    const secret = 'hunter2-$6$rounds=5000$saltsalt$hash';
    const bad = [
      `name: c1\nidentity: {cgroup: "${secret}"}\n`,
      `name: c1\nidentity: {nocloud_token: "${secret}"}\n`,
      `name: "${secret}"\n`,
      `name: c1\nconfig: {user.a: "${secret}"\n  bad: [\n`,
      `root:${secret}:19000:0:99999:7:::\n`,
    ];
    for (const text of bad) {
      let msg = '';
      try {
        parseInstanceYaml(text, F);
      } catch (e) {
        msg = (e as Error).message;
      }
      expect(msg).toMatch(/^\/inv\/c1\.yaml: /);
      expect(msg).not.toContain('hunter2');
    }
  });

  it('round-trips through the YAML guestgate writes', () => {
    const i = parseInstanceYaml(
      'name: c2\nconfig: {user.a: "x: y"}\ndevices: {eth0: {type: nic}}\nidentity: {pidns_file: /run/ns/c2, init_start_time: 12345, addresses: [10.0.0.2]}\n',
      F,
    );
    expect(parseInstanceYaml(instanceToYaml(i), F)).toEqual(i);
  });
});
