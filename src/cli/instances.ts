// `guestgate instances ls|show|create|set|unset|edit|rm|wait-ready`: talk to a running gateway's
// admin socket. Every change is validated by the gateway with the inventory file schema.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { GuestgateError, isGuestgateError } from '../errors.ts';
import { parseInstanceYaml } from '../inventory/parse.ts';
import { parseDuration, type ValidationError } from '../config/validate.ts';
import { AdminClient, adminSocketFrom, instancePath, type ConnectOptions } from './client.ts';
import { configOption, outputOption, print, type OutputFormat } from './output.ts';
import { listTable, showTable, type View } from './instance-view.ts';

type Opts = ConnectOptions & { output: OutputFormat };

const client = (cmd: Command): AdminClient => new AdminClient(adminSocketFrom(cmd.optsWithGlobals<ConnectOptions>()));
const fmt = (cmd: Command): OutputFormat => cmd.opts<Opts>().output;

/** "key=value" arguments; a value may itself contain "=". */
function assignments(args: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of args) {
    const i = a.indexOf('=');
    if (i <= 0) throw new GuestgateError('E_BAD_REQUEST', `expected key=value, got ${JSON.stringify(a)}`);
    out[a.slice(0, i)] = a.slice(i + 1);
  }
  return out;
}

function ls(): Command {
  return new Command('ls')
    .alias('list')
    .description('list instances')
    .addOption(outputOption())
    .action(async (_o, cmd: Command) => {
      const vs = await client(cmd).call<View[]>('GET', '/1.0/instances');
      print(fmt(cmd), vs, () => listTable(vs));
    });
}

function show(): Command {
  return new Command('show')
    .description('show one instance (name, or project/name)')
    .argument('<name>')
    .addOption(outputOption())
    .action(async (name: string, _o, cmd: Command) => {
      const v = await client(cmd).call<View>('GET', instancePath(name));
      print(fmt(cmd), v, () => showTable(v));
    });
}

function create(): Command {
  return new Command('create')
    .description('add an instance from a YAML file (the inventory file shape; "-" reads stdin)')
    .argument('<file>')
    .addOption(outputOption())
    .action(async (file: string, _o, cmd: Command) => {
      const text = readFileSync(file === '-' ? 0 : file, 'utf8');
      parseInstanceYaml(text, file === '-' ? '<stdin>' : file); // same schema as the gateway: fail before sending
      const v = await client(cmd).call<View>('POST', '/1.0/instances', undefined, { yaml: text });
      print(fmt(cmd), v, () => `created ${v.key}\n`);
    });
}

function set(): Command {
  return new Command('set')
    .description('set config keys (key=value ...), or with --device, keys of that device (created if absent)')
    .argument('<name>')
    .argument('<assignments...>', 'key=value pairs')
    .option('-d, --device <device>', 'set keys of this device instead of config keys')
    .addOption(outputOption())
    .action(async (name: string, args: string[], o: Opts & { device?: string }, cmd: Command) => {
      const c = client(cmd);
      const kv = assignments(args);
      let v: View;
      if (o.device) {
        const cur = await c.call<View>('GET', instancePath(name));
        v = await c.call<View>('PUT', instancePath(name, `/devices/${encodeURIComponent(o.device)}`), {
          ...cur.devices[o.device],
          ...kv,
        });
      } else v = await c.call<View>('PATCH', instancePath(name), { config: kv });
      print(fmt(cmd), v, () => '');
    });
}

function unset(): Command {
  return new Command('unset')
    .description(
      'remove config keys; with --device, remove keys of that device, or the whole device when no key is given',
    )
    .argument('<name>')
    .argument('[keys...]')
    .option('-d, --device <device>', 'work on this device')
    .addOption(outputOption())
    .action(async (name: string, keys: string[], o: Opts & { device?: string }, cmd: Command) => {
      const c = client(cmd);
      let v: View;
      if (o.device) {
        const path = instancePath(name, `/devices/${encodeURIComponent(o.device)}`);
        if (keys.length === 0) v = await c.call<View>('DELETE', path);
        else {
          const cur = await c.call<View>('GET', instancePath(name));
          const dev = cur.devices[o.device];
          if (!dev) throw new GuestgateError('E_NOT_FOUND', `instance "${cur.key}" has no device "${o.device}"`);
          for (const k of keys) {
            if (!(k in dev)) throw new GuestgateError('E_NOT_FOUND', `device "${o.device}" has no key "${k}"`);
            delete dev[k];
          }
          v = await c.call<View>('PUT', path, dev);
        }
      } else {
        if (keys.length === 0) throw new GuestgateError('E_BAD_REQUEST', 'name at least one config key to unset');
        const cur = await c.call<View>('GET', instancePath(name));
        const missing = keys.find((k) => !(k in cur.config));
        if (missing !== undefined)
          throw new GuestgateError('E_NOT_FOUND', `instance "${cur.key}" has no config key "${missing}"`);
        v = await c.call<View>('PATCH', instancePath(name), { config: Object.fromEntries(keys.map((k) => [k, null])) });
      }
      print(fmt(cmd), v, () => '');
    });
}

function edit(): Command {
  return new Command('edit')
    .description('edit an instance as YAML in $EDITOR; validated before it is sent')
    .argument('<name>')
    .action(async (name: string, _o, cmd: Command) => {
      const c = client(cmd);
      const before = await c.text(instancePath(name), 'application/yaml');
      const dir = mkdtempSync(join(tmpdir(), 'guestgate-edit-'));
      const file = join(dir, `${name.replace(/\W/g, '_')}.yaml`);
      writeFileSync(file, before, { mode: 0o600 });
      const editor = process.env.VISUAL || process.env.EDITOR || 'vi';
      const r = spawnSync('sh', ['-c', `${editor} "$1"`, 'sh', file], { stdio: 'inherit' });
      if (r.status !== 0)
        throw new GuestgateError(
          'E_BAD_REQUEST',
          `editor "${editor}" failed (exit ${r.status ?? r.signal}); nothing changed. Your copy: ${file}`,
        );
      const after = readFileSync(file, 'utf8');
      if (after === before) {
        rmSync(dir, { recursive: true, force: true });
        process.stderr.write('no changes\n');
        return;
      }
      try {
        parseInstanceYaml(after, file);
      } catch (e) {
        throw new GuestgateError(
          'E_INVENTORY',
          `${(e as Error).message}\nnothing was sent; your edits are kept in ${file}`,
        );
      }
      try {
        await c.call('PUT', instancePath(name), undefined, { yaml: after });
      } catch (e) {
        if (isGuestgateError(e))
          throw new GuestgateError(e.code, `${e.message}\nyour edits are kept in ${file}`, e.fields);
        throw e;
      }
      rmSync(dir, { recursive: true, force: true });
    });
}

function rm(): Command {
  return new Command('rm')
    .alias('delete')
    .description('remove an instance')
    .argument('<name>')
    .action(async (name: string, _o, cmd: Command) => {
      await client(cmd).call('DELETE', instancePath(name));
    });
}

function waitReady(): Command {
  return new Command('wait-ready')
    .description('wait until the guest reports Ready (PATCH /1.0 {"state":"Ready"}); exit 4 on timeout')
    .argument('<name>')
    .option('-t, --timeout <duration>', 'give up after this long (e.g. 30s, 5m)', '30s')
    .option('--after <time>', 'only a report made after this time counts (ISO 8601, or "now")')
    .addOption(outputOption())
    .action(async (name: string, o: Opts & { timeout: string; after?: string }, cmd: Command) => {
      let ms: number;
      try {
        ms = parseDuration(/^\d+(\.\d+)?$/.test(o.timeout) ? Number(o.timeout) : o.timeout, '--timeout');
      } catch (e) {
        throw new GuestgateError('E_BAD_REQUEST', (e as ValidationError).message);
      }
      const after = o.after === 'now' ? new Date().toISOString() : o.after;
      const sep = instancePath(name).includes('?') ? '&' : '?';
      const q = `${sep}wait=Ready&timeout=${ms}ms${after ? `&after=${encodeURIComponent(after)}` : ''}`;
      const r = await client(cmd).call<{ instance: string; state: string; since: string }>(
        'GET',
        instancePath(name, '/state') + q,
      );
      print(fmt(cmd), r, () => `${r.instance} ${r.state} (since ${r.since})\n`);
    });
}

export function instancesCommand(): Command {
  return new Command('instances')
    .description('manage the instances of a running gateway (through its admin socket)')
    .option('--admin <socket>', 'admin socket (default: <runtime_dir>/admin.sock from the config, or $GUESTGATE_ADMIN)')
    .addOption(configOption())
    .addCommand(ls())
    .addCommand(show())
    .addCommand(create())
    .addCommand(set())
    .addCommand(unset())
    .addCommand(edit())
    .addCommand(rm())
    .addCommand(waitReady());
}
