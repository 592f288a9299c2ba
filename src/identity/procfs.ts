// Readers of kernel facts under /proc. Only facts a guest cannot forge: namespace inodes, cgroup
// membership, uid maps, start times. Never process names or command lines (CVE-2025-54288).
// A fact read here by pid describes whoever holds the pid NOW: callers confirm it against a pidfd.
import { existsSync, readFileSync, readlinkSync } from 'node:fs';

const PROC = '/proc';

/** Where the cgroup v2 (unified) hierarchy is mounted: hybrid systems mount it at .../unified. */
export const CGROUP2_ROOT = existsSync('/sys/fs/cgroup/unified/cgroup.procs')
  ? '/sys/fs/cgroup/unified'
  : '/sys/fs/cgroup';

/** The cgroup v2 path of a process ("0::/a/b" -> "/a/b"), from the text of /proc/<pid>/cgroup. */
export function unifiedCgroup(text: string): string | undefined {
  for (const line of text.split('\n')) if (line.startsWith('0::')) return line.slice(3);
  return undefined;
}

/** Raw /proc/<pid>/cgroup, or undefined if gone. */
export function cgroupText(pid: number): string | undefined {
  try {
    return readFileSync(`${PROC}/${pid}/cgroup`, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * Start time of a process (field 22 of /proc/<pid>/stat, clock ticks since boot): with the pid, it
 * names one process for the whole uptime. Parsed after the last ')' since comm may contain anything.
 */
export function startTime(pid: number): number | undefined {
  try {
    return parseStartTime(readFileSync(`${PROC}/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

export function parseStartTime(stat: string): number | undefined {
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const v = Number(rest[19]); // fields from 3 (state) on; starttime is field 22
  return Number.isInteger(v) ? v : undefined;
}

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
  const t = cgroupText(pid);
  return t === undefined ? undefined : parseCgroupFile(t);
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
