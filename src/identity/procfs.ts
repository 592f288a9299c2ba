// Readers of kernel facts under /proc. Only facts a guest cannot forge: namespace inodes, cgroup
// membership, uid maps. Never process names or command lines (CVE-2025-54288).
import { readFileSync, readlinkSync } from 'node:fs';

const PROC = process.env.GUESTGATE_PROC_ROOT ?? '/proc';

/** Inode of /proc/<pid>/ns/<kind> ("pid:[4026531836]" -> 4026531836), or undefined if gone. */
export function nsInode(pid: number | 'self', kind: 'pid' | 'user' | 'net' | 'mnt' = 'pid'): number | undefined {
  try {
    return parseNsLink(readlinkSync(`${PROC}/${pid}/ns/${kind}`));
  } catch {
    return undefined;
  }
}

export function parseNsLink(link: string): number | undefined {
  const m = /^[a-z_]+:\[(\d+)\]$/.exec(link);
  return m ? Number(m[1]) : undefined;
}

/** Cgroup paths of a process, one per hierarchy line ("0::/lxc.payload.c1" -> "/lxc.payload.c1"). */
export function cgroupPaths(pid: number): string[] | undefined {
  try {
    return parseCgroupFile(readFileSync(`${PROC}/${pid}/cgroup`, 'utf8'));
  } catch {
    return undefined;
  }
}

export function parseCgroupFile(text: string): string[] {
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf(':', line.indexOf(':') + 1);
    if (i < 0) continue;
    const p = line.slice(i + 1);
    if (p.startsWith('/')) out.add(p);
  }
  return [...out];
}

export interface IdMapRange {
  readonly inside: number;
  readonly outside: number;
  readonly count: number;
}

export function uidMap(pid: number): IdMapRange[] | undefined {
  try {
    return parseIdMap(readFileSync(`${PROC}/${pid}/uid_map`, 'utf8'));
  } catch {
    return undefined;
  }
}

export function parseIdMap(text: string): IdMapRange[] {
  const out: IdMapRange[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length !== 3) continue;
    const [inside, outside, count] = f.map(Number) as [number, number, number];
    if ([inside, outside, count].every(Number.isInteger)) out.push({ inside, outside, count });
  }
  return out;
}

/** The outside id that `id` maps to, or undefined when unmapped. */
export function mapId(map: readonly IdMapRange[], id: number): number | undefined {
  for (const r of map) if (id >= r.inside && id < r.inside + r.count) return r.outside + (id - r.inside);
  return undefined;
}

/** LXD's `volatile.idmap.current` JSON: [{"Isuid":true,"Isgid":false,"Hostid":1000000,"Nsid":0,"Maprange":65536}]. */
export function parseLxdIdmap(json: string): IdMapRange[] | undefined {
  try {
    const v: unknown = JSON.parse(json);
    if (!Array.isArray(v)) return undefined;
    return v
      .filter((e): e is Record<string, unknown> => typeof e === 'object' && e !== null && e.Isuid === true)
      .map((e) => ({ inside: Number(e.Nsid), outside: Number(e.Hostid), count: Number(e.Maprange) }));
  } catch {
    return undefined;
  }
}
