// A real gateway for tests: temp folders, a YAML config, the real service on a real unix socket.
import { chmodSync, mkdtempSync, rmSync, writeFileSync, mkdirSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { parseConfig } from '../../src/config/load.ts';
import { createLogger } from '../../src/log.ts';
import { startService, type Service, type ServiceExtras } from '../../src/service.ts';

export interface TestGateway {
  readonly dir: string;
  readonly socket: string;
  readonly service: Service;
  /** Write (atomically) an instance file; the gateway picks it up through its folder watch. */
  writeInstance(doc: Record<string, unknown>): void;
  removeInstance(name: string): void;
  /** Wait until the inventory reflects a predicate. */
  until(pred: () => boolean, ms?: number): Promise<void>;
  /** Stop the service; `keep` leaves its folders for a restart (startGateway({ dir })). */
  close(opts?: { keep?: boolean }): Promise<void>;
}

export async function startGateway(
  opts: {
    guest?: Record<string, unknown>;
    images?: Record<string, unknown>;
    instances?: Record<string, unknown>[];
    extras?: ServiceExtras;
    logLevel?: string;
    /** Where the service logs (default stderr). */
    logStream?: NodeJS.WritableStream;
    /** Extra `inventory:` keys (e.g. settle, max_file_size). */
    inventory?: Record<string, unknown>;
    /** `limits:` keys (header_timeout, caps, rate). */
    limits?: Record<string, unknown>;
    /** Restart on the folders of a gateway closed with { keep: true } (same inventory and state). */
    dir?: string;
  } = {},
): Promise<TestGateway> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'gg-test-'));
  chmodSync(dir, 0o755); // guests (other uids, unprivileged containers) must reach the socket folder
  const inv = join(dir, 'inventory');
  mkdirSync(inv, { recursive: true });
  const writeInstance = (doc: Record<string, unknown>): void => {
    const tmp = join(inv, `.${String(doc.name)}.tmp`);
    writeFileSync(tmp, yaml.dump(doc));
    renameSync(tmp, join(inv, `${String(doc.name)}.yaml`));
  };
  for (const i of opts.instances ?? []) writeInstance(i);
  const file = join(dir, 'guestgate.yaml');
  const cfgText = yaml.dump({
    runtime_dir: join(dir, 'run'),
    state_dir: join(dir, 'state'),
    guest: { events: { keepalive: '10s' }, ...opts.guest },
    // settle 100ms keeps the suite quick; test/security uses the default where it matters.
    inventory: { source: 'dir', dir: inv, debounce: '10ms', settle: '100ms', ...opts.inventory },
    ...(opts.images ? { images: opts.images } : {}),
    ...(opts.limits ? { limits: opts.limits } : {}),
    log: { level: opts.logLevel ?? 'silent' },
  });
  writeFileSync(file, cfgText);
  const config = parseConfig(cfgText, file);
  const service = await startService(config, createLogger(config.log.level, opts.logStream), opts.extras);
  return {
    dir,
    socket: service.guest.path,
    service,
    writeInstance,
    removeInstance: (name) => rmSync(join(inv, `${name}.yaml`), { force: true }),
    until: async (pred, ms = 20_000) => {
      const end = Date.now() + ms;
      while (!pred()) {
        if (Date.now() > end) throw new Error('condition not reached in time');
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    close: async ({ keep = false } = {}) => {
      await service.stop();
      if (!keep) rmSync(dir, { recursive: true, force: true });
    },
  };
}
