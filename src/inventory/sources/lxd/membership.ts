// Which cluster member this gateway serves, learnt once at start from the server (and checked against
// `inventory.member` when that is set). Errors name the key and the server.
import { GuestgateError } from '../../../errors.ts';
import type { LxdClient, ServerInfo } from '../../../lxd/client.ts';
import { resolveMember } from './member.ts';

export async function learnMember(
  client: LxdClient,
  configured: string | undefined,
  info: ServerInfo,
  kind: string,
): Promise<string | undefined> {
  const where = client.where;
  let member: string | undefined;
  try {
    member = resolveMember(configured, info);
  } catch (e) {
    throw new GuestgateError('E_CONFIG', `inventory source ${kind} at ${where}: ${(e as Error).message}`, {
      where,
      key: 'inventory.member',
    });
  }
  if (configured !== undefined && member !== undefined && !(await client.isMember(member)))
    throw new GuestgateError('E_CONFIG', `inventory.member: "${member}" is not a member of the cluster at ${where}`, {
      where,
      key: 'inventory.member',
    });
  return member;
}
