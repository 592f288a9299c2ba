// NoCloud over HTTP for VMs and bare metal: disabled unless `listen` is set.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { path, type PathContext } from '../paths.ts';
import { list, obj, oneOf, opt, str, ValidationError, type Validator } from '../validate.ts';

/** A folder laid out like an image's metadata: metadata.yaml and templates/. */
const templatesDir =
  (ctx: PathContext): Validator<string> =>
  (v, key) => {
    const dir = path(ctx, 'dir')(v, key);
    if (!existsSync(join(dir, 'metadata.yaml')))
      throw new ValidationError(
        key,
        `expected a folder holding metadata.yaml and templates/, but ${dir} has no metadata.yaml`,
      );
    if (!existsSync(join(dir, 'templates')) || !statSync(join(dir, 'templates')).isDirectory())
      throw new ValidationError(
        key,
        `expected a folder holding metadata.yaml and templates/, but ${dir} has no templates/`,
      );
    return dir;
  };

export const nocloudSection = (ctx: PathContext) =>
  obj({
    /** host:port, e.g. "10.0.0.1:8080" or "[fd00::1]:8080". Absent: no NoCloud listener. */
    listen: opt(str({ pattern: /^(\[[0-9a-fA-F:.]+\]|[^:\s]*):\d{1,5}$/, hint: 'host:port, e.g. "10.0.0.1:8080"' })),
    /**
     * How a caller is recognised: `address` (its source address is one of the instance's
     * identity.addresses; seed URL http://host:port/) and/or `token` (the capability URL
     * http://host:port/nocloud/<identity.nocloud_token>/).
     */
    /**
     * The template set (metadata.yaml + templates/, as in an LXD image) for instances whose image has
     * none. Absent: guestgate's default set (the repo's templates/ folder).
     */
    templates_dir: opt(templatesDir(ctx)),
    identify_by: opt(list(oneOf(['address', 'token'] as const)), () => ['address', 'token'] as ('address' | 'token')[]),
  });

export type NoCloudConfig = ReturnType<ReturnType<typeof nocloudSection>>;
