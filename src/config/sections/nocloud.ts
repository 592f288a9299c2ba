// NoCloud over HTTP for VMs and bare metal: disabled unless `listen` is set.
import { list, obj, oneOf, opt, str } from '../validate.ts';

export const nocloudSection = () =>
  obj({
    /** host:port, e.g. "10.0.0.1:8080" or "[fd00::1]:8080". Absent: no NoCloud listener. */
    listen: opt(str({ pattern: /^(\[[0-9a-fA-F:.]+\]|[^:\s]*):\d{1,5}$/, hint: 'host:port, e.g. "10.0.0.1:8080"' })),
    /**
     * How a caller is recognised: `address` (its source address is one of the instance's
     * identity.addresses; seed URL http://host:port/) and/or `token` (the capability URL
     * http://host:port/nocloud/<identity.nocloud_token>/).
     */
    identify_by: opt(list(oneOf(['address', 'token'] as const)), () => ['address', 'token'] as ('address' | 'token')[]),
  });

export type NoCloudConfig = ReturnType<ReturnType<typeof nocloudSection>>;
