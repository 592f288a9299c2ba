// Choose the inventory source named in the config.
import type { Logger } from 'pino';
import type { InventoryConfig } from '../../config/sections/inventory.ts';
import type { InventorySource } from '../model.ts';
import { DirSource } from './dir.ts';
import { LxdSource } from './lxd.ts';

export function createSource(cfg: InventoryConfig, log: Logger): InventorySource {
  switch (cfg.source) {
    case 'dir':
      return new DirSource({
        dir: cfg.dir,
        debounceMs: cfg.debounce,
        settleMs: cfg.settle,
        maxFileSize: cfg.max_file_size,
        log,
      });
    case 'lxd':
    case 'incus':
      return new LxdSource({
        kind: cfg.source,
        endpoint: {
          socket: cfg.socket,
          url: cfg.url,
          clientCert: cfg.client_cert,
          clientKey: cfg.client_key,
          serverCert: cfg.server_cert,
        },
        project: cfg.project,
        allProjects: cfg.all_projects,
        log,
      });
  }
}
