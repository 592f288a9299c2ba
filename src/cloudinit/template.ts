// Text templates from templates/: `{{name}}` placeholders, substituted verbatim (no escaping, no
// trailing newline added), so renderers stay byte-exact. Loaded once at startup.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const TEMPLATES = fileURLToPath(new URL('../../templates/', import.meta.url));

export type Template = (vars: Readonly<Record<string, string>>) => string;

export function compileTemplate(text: string, name = 'template'): Template {
  const parts = text.split(/\{\{([a-z_]+)\}\}/);
  return (vars) => {
    let out = parts[0]!;
    for (let i = 1; i < parts.length; i += 2) {
      const v = vars[parts[i]!];
      if (v === undefined) throw new Error(`${name}: no value for {{${parts[i]}}}`);
      out += v + parts[i + 1]!;
    }
    return out;
  };
}

export function loadTemplate(file: string): Template {
  return compileTemplate(readFileSync(TEMPLATES + file, 'utf8'), file);
}
