// One instance file: the YAML `lxc config show --expanded` prints, plus `identity:` (how guestgate
// recognises the instance's processes). Pure: text in, Instance out, errors name file and key.
import yaml from 'js-yaml';
import { FileValueError } from '../errors.ts';
import { int, list, obj, oneOf, opt, record, scalarString, str, ValidationError } from '../config/validate.ts';
import { INSTANCE_NAME, instanceKey, type Instance } from './model.ts';
import { dumpYaml } from './yaml-dump.ts';

const identitySchema = obj({
  init_pid: opt(int({ min: 1 })),
  init_start_time: opt(int({ min: 0 })),
  pidns: opt((_v, key) => {
    throw new ValidationError(
      key,
      'a bare pid namespace inode cannot be held (the kernel hands the number to a new namespace once this one dies); use `pidns_file:` with a path to the namespace (/proc/<init pid>/ns/pid, or a bind mount of it) or `init_pid:`',
    );
  }),
  pidns_file: opt(
    str({ pattern: /^\/[^\0]*$/, hint: 'an absolute path to a pid namespace file such as /proc/1234/ns/pid' }),
  ),
  cgroup: opt(str({ pattern: /^\/[^\0]*$/, hint: 'an absolute cgroup path such as /lxc.payload.c1' })),
  root_uid: opt(int({ min: 0 })),
  addresses: opt(list(str({ nonEmpty: true }))),
  nocloud_token: opt(str({ pattern: /^[A-Za-z0-9_-]{16,128}$/, hint: '16-128 URL-safe characters' })),
});

const instanceSchema = obj({
  name: str({ pattern: INSTANCE_NAME, hint: 'an instance name (letters, digits, dashes; starting with a letter)' }),
  project: opt(str({ nonEmpty: true }), 'default'),
  type: opt(oneOf(['container', 'virtual-machine'] as const), 'container'),
  location: opt(str({ nonEmpty: true }), 'none'),
  config: opt(record(scalarString()), {}),
  devices: opt(record(record(scalarString())), {}),
  identity: identitySchema,
  // Printed by `lxc config show`; accepted and ignored.
  architecture: opt(str()),
  description: opt(str()),
  ephemeral: opt((v) => v),
  profiles: opt((v) => v),
  stateful: opt((v) => v),
  status: opt((v) => v),
});

export function instanceFromDocument(doc: unknown, file: string): Instance {
  let v: ReturnType<typeof instanceSchema>;
  try {
    v = instanceSchema(doc, '');
  } catch (e) {
    if (e instanceof ValidationError) {
      const [first, ...more] = e.issues.map((i) => ({ key: safeKey(i.key), problem: withoutValue(i.problem) }));
      throw new FileValueError('E_INVENTORY', file, first!.key, first!.problem, more);
    }
    throw e;
  }
  const id = v.identity;
  return Object.freeze({
    key: instanceKey(v.project, v.name),
    name: v.name,
    project: v.project,
    type: v.type,
    location: v.location,
    config: Object.freeze({ ...v.config }),
    devices: Object.freeze(Object.fromEntries(Object.entries(v.devices).map(([k, d]) => [k, Object.freeze({ ...d })]))),
    identity: Object.freeze({
      initPid: id.init_pid,
      initStartTime: id.init_start_time,
      pidnsFile: id.pidns_file,
      cgroup: id.cgroup?.replace(/\/+$/, '') || undefined,
      rootUid: id.root_uid,
      addresses: id.addresses,
      nocloudToken: id.nocloud_token,
    }),
  });
}

/** An instance file may hold secrets: a problem names the key and what was expected, never the value found. */
const withoutValue = (problem: string): string => problem.replace(/, got "[\s\S]*$/, '');
/** A key is echoed only when it looks like a key (a shadow line parses as one long key). */
const safeKey = (key: string): string =>
  /^[A-Za-z0-9_./-]{0,128}$/.test(key) ? key : '(a key that is not a key name)';

export function parseInstanceYaml(text: string, file: string): Instance {
  let doc: unknown;
  try {
    doc = yaml.load(text, { filename: file, schema: yaml.CORE_SCHEMA });
  } catch (e) {
    // js-yaml's message quotes the offending lines: report reason and position only.
    const y = e as { reason?: string; mark?: { line: number; column: number } };
    const at = y.mark ? ` at line ${y.mark.line + 1}, column ${y.mark.column + 1}` : '';
    throw new FileValueError('E_INVENTORY', file, '', `invalid YAML${at}: ${y.reason ?? 'unreadable'}`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc))
    throw new FileValueError('E_INVENTORY', file, '', 'expected a mapping (an instance)');
  return instanceFromDocument(doc, file);
}

/** The YAML guestgate writes for an instance (admin API, `instances edit`). */
export function instanceToYaml(i: Instance): string {
  const identity: Record<string, unknown> = {};
  if (i.identity.initPid !== undefined) identity.init_pid = i.identity.initPid;
  if (i.identity.initStartTime !== undefined) identity.init_start_time = i.identity.initStartTime;
  if (i.identity.pidnsFile !== undefined) identity.pidns_file = i.identity.pidnsFile;
  if (i.identity.cgroup !== undefined) identity.cgroup = i.identity.cgroup;
  if (i.identity.rootUid !== undefined) identity.root_uid = i.identity.rootUid;
  if (i.identity.addresses !== undefined) identity.addresses = [...i.identity.addresses];
  if (i.identity.nocloudToken !== undefined) identity.nocloud_token = i.identity.nocloudToken;
  return dumpYaml(
    {
      name: i.name,
      project: i.project,
      type: i.type,
      location: i.location,
      config: i.config,
      devices: i.devices,
      identity,
    },
    { sortKeys: false, lineWidth: -1, noRefs: true },
  );
}
