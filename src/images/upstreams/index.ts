// Builds the configured upstreams, in order.
import type { UpstreamConfig } from '../../config/sections/images.ts';
import type { UpstreamTimeouts } from '../../net/http-client.ts';
import { endpointOf } from '../../lxd/endpoint.ts';
import { dirUpstream } from './dir.ts';
import { lxdUpstream } from './lxd.ts';
import { simplestreamsUpstream } from './simplestreams.ts';
import type { Upstream } from './types.ts';

export function createUpstream(c: UpstreamConfig, timeouts?: UpstreamTimeouts): Upstream {
  switch (c.type) {
    case 'dir':
      return dirUpstream({ path: c.path, public: c.public });
    case 'lxd':
    case 'incus':
      return lxdUpstream({ type: c.type, project: c.project, ...endpointOf(c), timeouts });
    case 'simplestreams':
      return simplestreamsUpstream({ url: c.url, serverCert: c.server_cert, catalogTtl: c.catalog_ttl, timeouts });
  }
}

export type { Upstream, UpstreamImage, PartSink } from './types.ts';
