// `guestgate preview <instance>`: what the guest will see, from one instance record (the running
// gateway's, or --from-file): the guest API view in the configured dialect, the NoCloud files and
// where each came from, and every image template rendered for --trigger with its path. Each line a
// config key (or property, instance value, device) produced is marked `« key, ...` in the text view;
// -o json|yaml carry the same as `lines: [{line, keys}]` per file.
import { existsSync } from 'node:fs';
import { Command, Option } from 'commander';
import { buildPreview } from '../cloudinit/preview.ts';
import { loadConfig } from '../config/load.ts';
import { TRIGGERS, type Trigger } from '../templates/context.ts';
import type { LineKeys } from '../templates/trace.ts';
import { DEFAULT_CONFIG } from './common.ts';
import { configOption, outputOption, print, type OutputFormat } from './output.ts';
import { instanceFor } from './seed.ts';
import { type SetOptions, templateSetFor } from './seed-set.ts';

interface PreviewOpts extends SetOptions {
  trigger: Trigger;
  dialect?: string;
  fromFile?: string;
  admin?: string;
  output: OutputFormat;
}

const indent = (s: string): string => (s ? s.replace(/^(?=.)/gm, '  ').replace(/\n?$/, '\n') : '  (empty)\n');

/** `indent`, with the keys behind each line after it. */
function marked(content: string, lines: readonly LineKeys[]): string {
  if (!content) return indent(content);
  const keys = new Map(lines.map((l) => [l.line, l.keys]));
  return `${content
    .replace(/\n$/, '')
    .split('\n')
    .map((l, i) => {
      const k = keys.get(i + 1);
      return `${l ? `  ${l}` : ''}${k ? `${l ? '    ' : '  '}« ${k.join(', ')}` : ''}`;
    })
    .join('\n')}\n`;
}

export function previewCommand(): Command {
  return new Command('preview')
    .description('show what an instance will see: guest API view, NoCloud files, rendered image templates')
    .argument('[instance]', 'instance name (or project/name) on the running gateway')
    .addOption(new Option('--trigger <trigger>', 'template trigger').choices(TRIGGERS).default('create'))
    .addOption(
      new Option('--dialect <dialect>', "guest API dialect (default: the config file's)").choices([
        'lxd-5.0',
        'lxd',
        'incus',
      ]),
    )
    .option('--image <file>', "render this image's templates (unified tarball or metadata tarball)")
    .option('--templates <dir>', 'render this template folder (metadata.yaml + templates/)')
    .option('--from-file <yaml>', 'take the instance from an inventory YAML file instead of the gateway')
    .option('--admin <socket>', 'admin socket of the running gateway')
    .addOption(configOption())
    .addOption(outputOption())
    .action(async (name: string | undefined, o: PreviewOpts) => {
      const instance = await instanceFor(name, o);
      const file = o.config ?? DEFAULT_CONFIG;
      const dialect = o.dialect ?? (existsSync(file) ? loadConfig(file).guest.dialect : 'lxd-5.0');
      const p = buildPreview(instance, await templateSetFor(instance, o), o.trigger, dialect);
      print(o.output, p, () => {
        let s = `instance ${p.instance} (dialect ${p.dialect}, trigger ${p.trigger})\n\n== guest API\n`;
        for (const [k, v] of Object.entries(p.guest_api.config)) s += `/1.0/config/${k}:\n${indent(v)}`;
        s += `/1.0/meta-data:\n${indent(p.guest_api.meta_data)}/1.0/devices: ${Object.keys(p.guest_api.devices).sort().join(', ') || '(none)'}\n\n== NoCloud\n`;
        for (const [f, v] of Object.entries(p.nocloud)) s += `${f} (from ${v.from}):\n${marked(v.content, v.lines)}`;
        s += `\n== image templates (${p.templates.origin})\n`;
        for (const t of p.templates.files)
          s += `${t.path} (${t.template}${t.create_only ? ', create_only' : ''}):\n${marked(t.content, t.lines)}`;
        return s.replace(/\n$/, '');
      });
    });
}
