// Path-valued config fields: resolved against the config file's folder, optionally checked to exist.
import { statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { ValidationError, str, type Validator } from './validate.ts';

export interface PathContext {
  /** Folder relative paths are resolved against (the config file's folder). */
  readonly baseDir: string;
}

export const path =
  (ctx: PathContext, must?: 'dir' | 'file'): Validator<string> =>
  (v, key) => {
    const p = str({ nonEmpty: true })(v, key);
    const abs = isAbsolute(p) ? p : resolve(ctx.baseDir, p);
    if (must) {
      let st: ReturnType<typeof statSync>;
      try {
        st = statSync(abs);
      } catch {
        throw new ValidationError(
          key,
          `expected an existing ${must === 'dir' ? 'directory' : 'file'}, but ${abs} does not exist`,
        );
      }
      if (must === 'dir' ? !st.isDirectory() : !st.isFile())
        throw new ValidationError(key, `expected a ${must === 'dir' ? 'directory' : 'file'}, but ${abs} is not one`);
    }
    return abs;
  };
