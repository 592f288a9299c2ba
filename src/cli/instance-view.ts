// How `guestgate instances ls|show` print an instance of the admin API (pure).
import { table } from './output.ts';

export interface View {
  key: string;
  name: string;
  project: string;
  type: string;
  state: string;
  state_since: string | null;
  /** The server's status (LXD/Incus sources). */
  status?: string;
  config: Record<string, string>;
  devices: Record<string, Record<string, string>>;
  identity: { addresses?: string[] } & Record<string, unknown>;
}

export const showTable = (v: View): string => {
  const rows: string[][] = [
    ['name', v.name],
    ['project', v.project],
    ['type', v.type],
    ['ready', v.state_since ? `${v.state} (since ${v.state_since})` : v.state],
    ...(v.status !== undefined ? [['status', v.status]] : []),
  ];
  for (const [k, val] of Object.entries(v.config).sort())
    rows.push([
      `config ${k}`,
      val.includes('\n') ? `${val.split('\n')[0]} ... (${val.split('\n').length} lines)` : val,
    ]);
  for (const [n, d] of Object.entries(v.devices).sort())
    rows.push([
      `device ${n}`,
      Object.entries(d)
        .map(([k, x]) => `${k}=${x}`)
        .join(' '),
    ]);
  for (const [k, x] of Object.entries(v.identity))
    rows.push([`identity ${k}`, Array.isArray(x) ? x.join(',') : String(x)]);
  return table(['FIELD', 'VALUE'], rows);
};

/** READY is guestgate's record of the guest's report; STATUS (LXD/Incus sources only) is the server's own. */
export function listTable(vs: readonly View[]): string {
  const withStatus = vs.some((v) => v.status !== undefined);
  return table(
    ['NAME', 'PROJECT', 'TYPE', ...(withStatus ? ['STATUS'] : []), 'READY', 'ADDRESSES'],
    vs.map((v) => [
      v.name,
      v.project,
      v.type,
      ...(withStatus ? [v.status ?? '-'] : []),
      v.state,
      (v.identity.addresses ?? []).join(','),
    ]),
  );
}
