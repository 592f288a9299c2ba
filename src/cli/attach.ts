// `guestgate attach|detach <instance...>|--all`: put LXD/Incus containers behind guestgate's guest socket,
// or give them back their server's own guest API. Talks to the server of the config's inventory source
// directly (its socket or URL), not to the gateway: it works whether or not `guestgate serve` runs.
// Every named instance is read and planned before anything changes (unknown: exit 3, a VM: exit 2).
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { Command, Option } from 'commander';
import { GuestgateError, isGuestgateError } from '../errors.ts';
import { loadConfig } from '../config/load.ts';
import type { LxdSourceConfig } from '../config/sections/inventory.ts';
import { LxdClient } from '../lxd/client.ts';
import { endpointOf } from '../lxd/endpoint.ts';
import type { InstancePut, LxdInstance } from '../lxd/api.ts';
import {
  applySteps,
  ATTACH,
  attachPlan,
  describeStep,
  detachPlan,
  instanceLabel,
  switchIsOff,
  type Plan,
  type ServerKind,
  type Step,
} from '../lxd/attach-plan.ts';
import { configOption, print } from './output.ts';

type Verb = 'attach' | 'detach';
interface Opts {
  config: string;
  all?: boolean;
  output: 'text' | 'json' | 'yaml';
}

interface Target {
  readonly project: string;
  readonly name: string;
  readonly label: string;
  readonly m: LxdInstance;
}

function lxdSource(file: string): { inv: LxdSourceConfig; socket: string; socketDir: string } {
  const config = loadConfig(file);
  const inv = config.inventory;
  if (inv.source !== 'lxd' && inv.source !== 'incus')
    throw new GuestgateError(
      'E_CONFIG',
      `${file}: inventory.source: attach/detach need an lxd or incus inventory source (this config uses "${inv.source}"); with a dir inventory, bind-mount ${dirname(config.guest.socket)} at /dev/lxd yourself`,
    );
  return { inv, socket: config.guest.socket, socketDir: dirname(config.guest.socket) };
}

async function targets(client: LxdClient, inv: LxdSourceConfig, names: string[], all: boolean): Promise<Target[]> {
  if (all) {
    const list = await client.list(
      inv.all_projects ? 'all-projects=true' : `project=${encodeURIComponent(inv.project)}`,
    );
    return list
      .filter((m) => typeof m.name === 'string')
      .map((m) => {
        const project = typeof m.project === 'string' && m.project !== '' ? m.project : inv.project;
        return { project, name: m.name as string, label: instanceLabel(project, m.name as string), m };
      });
  }
  const out: Target[] = [];
  for (const arg of names) {
    const [project, name] = arg.includes('/') ? (arg.split('/', 2) as [string, string]) : [inv.project, arg];
    const label = instanceLabel(project, name);
    const m = await client.get(project, name);
    if (!m)
      throw new GuestgateError('E_NOT_FOUND', `instance ${label} not found on ${client.where}; nothing was changed`, {
        instance: label,
      });
    out.push({ project, name, label, m });
  }
  return out;
}

/** Consecutive steps of one kind (config, or devices) go in one PUT of a freshly read instance. */
async function apply(client: LxdClient, t: Target, steps: readonly Step[]): Promise<void> {
  const groups: Step[][] = [];
  for (const s of steps) {
    const cfg = s.kind === 'set' || s.kind === 'unset';
    const last = groups.at(-1);
    const lastCfg = last !== undefined && (last[0]!.kind === 'set' || last[0]!.kind === 'unset');
    if (last && lastCfg === cfg) last.push(s);
    else groups.push([s]);
  }
  for (const g of groups) await putSteps(client, t, g);
}

/** Read (with ETag), change, PUT with If-Match; a change made meanwhile by someone else: read again (3 tries). */
async function putSteps(client: LxdClient, t: Target, steps: readonly Step[], tries = 3): Promise<void> {
  const got = await client.getForUpdate(t.project, t.name);
  if (!got) throw new GuestgateError('E_NOT_FOUND', `instance ${t.label} vanished while being changed`);
  const m = got.instance;
  const { config, devices } = applySteps(m, steps);
  const put: InstancePut = {
    architecture: typeof m.architecture === 'string' ? m.architecture : '',
    config,
    devices,
    ephemeral: m.ephemeral === true,
    profiles: Array.isArray(m.profiles) ? m.profiles.filter((p): p is string => typeof p === 'string') : [],
    stateful: m.stateful === true,
    description: typeof m.description === 'string' ? m.description : '',
  };
  try {
    await client.putInstance(t.project, t.name, put, got.etag);
  } catch (e) {
    if (tries > 1 && isGuestgateError(e, 'E_CONFLICT') && e.fields.status === 412)
      return putSteps(client, t, steps, tries - 1);
    throw e;
  }
}

/** Unprivileged containers' root must traverse every folder up to the socket. */
function socketDirWarnings(dir: string): string[] {
  const out: string[] = [];
  for (let d = dir; ; d = dirname(d)) {
    if ((statSync(d).mode & 0o001) === 0)
      out.push(
        `warning: ${d} is not searchable by others (mode ${(statSync(d).mode & 0o777).toString(8)}): root of an unprivileged container cannot reach the socket`,
      );
    if (d === dirname(d)) return out;
  }
}

interface Report {
  instance: string;
  changed: string[];
  notes: string[];
}

async function run(verb: Verb, names: string[], o: Opts, onReport: (r: Report) => void): Promise<void> {
  if (o.all && names.length > 0)
    throw new GuestgateError('E_BAD_REQUEST', `${verb}: name instances or give --all, not both`);
  if (!o.all && names.length === 0)
    throw new GuestgateError('E_BAD_REQUEST', `${verb}: name at least one instance, or give --all`);
  const { inv, socket, socketDir } = lxdSource(o.config);
  const kind: ServerKind = inv.source;
  const client = new LxdClient(endpointOf(inv));
  try {
    const ts = await targets(client, inv, names, o.all === true);
    const plans: [Target, Plan][] = [];
    for (const t of ts) {
      if (o.all && t.m.type === 'virtual-machine') {
        onReport({
          instance: t.label,
          changed: [],
          notes: ['skipped: a virtual machine (guestgate serves containers)'],
        });
        continue;
      }
      const plan =
        verb === 'attach' ? attachPlan(t.m, t.label, kind, socketDir) : detachPlan(t.m, t.label, kind, socketDir);
      plans.push([t, plan]);
    }
    if (verb === 'attach' && plans.some(([, p]) => p.steps.length > 0)) {
      if (!existsSync(socketDir)) {
        mkdirSync(socketDir, { recursive: true, mode: 0o755 });
        process.stderr.write(`created ${socketDir} (guestgate's guest socket folder)\n`);
      }
      for (const w of socketDirWarnings(socketDir)) process.stderr.write(`${w}\n`);
      if (!existsSync(socket))
        process.stderr.write(
          `note: ${socket} does not exist yet: guests reach guestgate once \`guestgate serve\` runs\n`,
        );
    }
    for (const [t, plan] of plans) {
      await apply(client, t, plan.steps);
      const notes = [...plan.notes];
      if (verb === 'detach') {
        const after = await client.get(t.project, t.name);
        if (after && switchIsOff(after, kind))
          notes.push(`${ATTACH[kind].key} is still false (set by a profile): the server's own guest API stays off`);
      }
      onReport({ instance: t.label, changed: plan.steps.map(describeStep), notes });
    }
  } finally {
    client.close();
  }
}

const textOf = (verb: Verb, reports: Report[]): string =>
  reports
    .flatMap((r) => [
      ...(r.changed.length === 0 && !r.notes.some((n) => n.startsWith('skipped'))
        ? [`${r.instance}: ${verb === 'attach' ? 'already attached' : 'not attached'} (nothing changed)`]
        : r.changed.map((c) => `${r.instance}: ${c}`)),
      ...r.notes.map((n) => `${r.instance}: ${n}`),
    ])
    .map((l) => `${l}\n`)
    .join('');

function verbCommand(verb: Verb, description: string): Command {
  return new Command(verb)
    .description(description)
    .argument('[instances...]', 'instance names (project/name outside the configured project)')
    .option('--all', `every instance of the configured project (all projects with inventory.all_projects)`)
    .addOption(configOption())
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json', 'yaml']).default('text'))
    .action(async (names: string[], o: Opts) => {
      const reports: Report[] = [];
      // Text goes out instance by instance (what changed is printed even if a later instance fails).
      await run(verb, names, o, (r) => {
        if (o.output !== 'text') reports.push(r);
        else process.stdout.write(textOf(verb, [r]));
      });
      if (o.output !== 'text') print(o.output, reports, () => '');
    });
}

export const attachCommand = (): Command =>
  verbCommand(
    'attach',
    "put containers behind guestgate: turn the server's guest API off (security.devlxd / security.guestapi) and mount guestgate's socket folder at /dev/lxd (Incus: also /dev/incus); idempotent, live",
  );

export const detachCommand = (): Command =>
  verbCommand(
    'detach',
    "give containers back their server's own guest API: remove the devices attach added and unset the switch it set",
  );
