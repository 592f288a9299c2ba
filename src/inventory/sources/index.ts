// Choose the inventory source named in the config.
import type { Logger } from 'pino';
import type { InventoryConfig } from '../../config/sections/inventory.ts';
import { endpointOf } from '../../lxd/endpoint.ts';
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
        endpoint: endpointOf(cfg),
        project: cfg.project,
        allProjects: cfg.all_projects,
        member: cfg.member,
        log,
      });
  }
}
