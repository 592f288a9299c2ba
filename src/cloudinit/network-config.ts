// network-config for NoCloud: cloud-init.network-config, else user.network-config, else a default
// derived from the NIC devices. The default is netplan-style v2 (cloud-init >= 22.4 reads v1 and v2):
// one `ethernets` entry per NIC, DHCPv4, matched by MAC when the MAC is known (hwaddr or
// volatile.<dev>.hwaddr) and renamed to the device's `name`. A VM NIC without a known MAC is left out
// (its guest-side name is not the device name); no NIC at all gives "" (cloud-init's own fallback).
import yaml from 'js-yaml';
import type { Instance } from '../inventory/model.ts';

export function networkConfig(instance: Instance): string {
  const set = instance.config['cloud-init.network-config'] || instance.config['user.network-config'];
  if (set) return set;
  return defaultNetworkConfig(instance);
}

export function defaultNetworkConfig(instance: Instance): string {
  const ethernets: Record<string, Record<string, unknown>> = {};
  for (const dev of Object.keys(instance.devices).sort()) {
    const d = instance.devices[dev]!;
    if (d.type !== 'nic') continue;
    const name = d.name || dev;
    const mac = d.hwaddr || instance.config[`volatile.${dev}.hwaddr`];
    if (mac) ethernets[name] = { match: { macaddress: mac.toLowerCase() }, 'set-name': name, dhcp4: true };
    else if (instance.type === 'container') ethernets[name] = { dhcp4: true };
  }
  if (Object.keys(ethernets).length === 0) return '';
  return yaml.dump({ version: 2, ethernets }, { lineWidth: -1, noRefs: true, quotingType: '"' });
}
