// Subcommand help shows what the parent accepts (-c/--config, --admin): an operator reading
// `guestgate instances ls --help` learns how to point it at the gateway.
import { expect, it } from 'vitest';
import { cli } from '../helpers/service.ts';

it('instances ls --help lists --admin and -c/--config under Global Options', async () => {
  const r = await cli(['instances', 'ls', '--help']);
  expect(r.code).toBe(0);
  const global = r.stdout.slice(r.stdout.indexOf('Global Options:'));
  expect(r.stdout).toContain('Global Options:');
  expect(global).toContain('--admin <socket>');
  expect(global).toContain('-c, --config <file>');
});
