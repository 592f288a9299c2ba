// TLS material read from PEM files, for every client and server that takes cert/key/ca paths.
import { readFileSync } from 'node:fs';

export interface TlsFiles {
  readonly cert?: string | undefined;
  readonly key?: string | undefined;
  readonly ca?: string | undefined;
}

/** The files' contents for node's tls options; only the paths given appear in the result. */
export function loadTlsFiles(f: TlsFiles): { cert?: Buffer; key?: Buffer; ca?: Buffer } {
  return {
    ...(f.cert ? { cert: readFileSync(f.cert) } : {}),
    ...(f.key ? { key: readFileSync(f.key) } : {}),
    ...(f.ca ? { ca: readFileSync(f.ca) } : {}),
  };
}
