// Guest event wire format (pure): api.Event as LXD encodes it, field order type, timestamp, metadata;
// metadata maps with sorted keys; Go's default HTML escaping; one JSON document + LF.
import { goJson, sortKeys } from '../../util/gojson.ts';

export type GuestEvent =
  | {
      readonly type: 'config';
      readonly metadata: { readonly key: string; readonly old_value: string; readonly value: string };
    }
  | {
      readonly type: 'device';
      readonly metadata: {
        readonly action: 'added' | 'removed' | 'updated';
        readonly config: Readonly<Record<string, string>>;
        readonly name: string;
      };
    };

export function encodeEvent(e: GuestEvent, timestamp: string): string {
  const metadata =
    e.type === 'config'
      ? { key: e.metadata.key, old_value: e.metadata.old_value, value: e.metadata.value }
      : { action: e.metadata.action, config: sortKeys(e.metadata.config), name: e.metadata.name };
  return goJson({ type: e.type, timestamp, metadata }, { escapeHTML: true });
}

// Go's RFC3339Nano: nanoseconds with trailing zeros trimmed, local offset or Z.
const anchorNs = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();

export function rfc3339Nano(
  ns: bigint = anchorNs + process.hrtime.bigint(),
  offsetMinutes = -new Date(Number(ns / 1_000_000n)).getTimezoneOffset(),
): string {
  const ms = Number(ns / 1_000_000n);
  const local = new Date(ms + offsetMinutes * 60_000);
  const base = local.toISOString().slice(0, 19);
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  const sign = offsetMinutes >= 0 ? '+' : '-';
  const abs = Math.abs(offsetMinutes);
  const zone =
    offsetMinutes === 0
      ? 'Z'
      : `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
  return `${base}${frac ? `.${frac}` : ''}${zone}`;
}

/** The `type` filter of /1.0/events: comma-split, no trimming, default config,device. */
export function parseTypeFilter(q: string | undefined): ReadonlySet<string> {
  return new Set(q ? q.split(',') : ['config', 'device']);
}
