// From the validated config of an LXD/Incus server (inventory source or image upstream) to how
// the HTTP client reaches it.
import type { LxdEndpointConfig } from '../config/sections/lxd-endpoint.ts';
import type { Endpoint } from '../net/http-client.ts';

export const endpointOf = (c: LxdEndpointConfig): Endpoint => ({
  socket: c.socket,
  url: c.url,
  clientCert: c.client_cert,
  clientKey: c.client_key,
  serverCert: c.server_cert,
});
