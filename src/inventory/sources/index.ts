// Choose the inventory source named in the config.
import type { Logger } from 'pino';
import type { InventoryConfig } from '../../config/sections/inventory.ts';
import type { InventorySource } from '../model.ts';
import { DirSource } from './dir.ts';

export function createSource(cfg: InventoryConfig, log: Logger): InventorySource {
  switch (cfg.source) {
    case 'dir':
      return new DirSource({ dir: cfg.dir, debounceMs: cfg.debounce, log });
    case 'lxd':
    case 'incus':
      throw new Error(`inventory source "${cfg.source}" is not available in this build`);
  }
}
