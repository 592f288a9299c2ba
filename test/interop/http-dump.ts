// Parse what curl -i printed (status line, headers, body) and the sections of a probe run
// ("### <args>" ... "### rc=N"), for side-by-side comparison of two servers.

export interface Dumped {
  readonly status: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface ProbeSection {
  readonly request: string;
  readonly raw: string;
  readonly response: Dumped | undefined;
}

export function parseDump(raw: string): Dumped | undefined {
  if (!raw.startsWith('HTTP/')) return undefined;
  const end = raw.indexOf('\r\n\r\n');
  const head = end < 0 ? raw : raw.slice(0, end);
  const body = end < 0 ? '' : raw.slice(end + 4);
  const [status = '', ...lines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    if (i > 0) headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
  }
  return { status: status.trim(), headers, body };
}

/** Sections of probe.sh output, in order. The `echo` after each curl adds one LF before `### rc=`. */
export function parseProbe(out: string): ProbeSection[] {
  const sections: ProbeSection[] = [];
  const re = /^### (.*)\n([\s\S]*?)\n### rc=\d+$/gm;
  for (let m = re.exec(out); m; m = re.exec(out))
    sections.push({ request: m[1]!, raw: m[2]!, response: parseDump(m[2]!) });
  return sections;
}
