/**
 * Holding a background task while an invocation works on it. Lambda may deliver an asynchronous
 * event twice, and retries one whose invocation failed or timed out: the task's record in the
 * ledger lets one invocation at a time hold it, by a lease that ends with the holder's deadline.
 */
import type { TaskClaim, TaskLedger } from '../ports';

/**
 * A holder's lease: renewed every third of it while the invocation runs and never past the
 * invocation's deadline, so a killed holder frees its task well before Lambda's first retry (1 min).
 */
export const LEASE_MS = 15_000;
/** Clocks of different invocations may differ a little: a lease is taken over only this long after it ends. */
const LEASE_SLACK_MS = 500;

export interface Holder {
  readonly ledger: TaskLedger;
  /** This invocation's name in the ledger: unique per invocation (Lambda keeps a request id across retries). */
  readonly owner: string;
  /** The invocation's deadline (epoch ms). */
  readonly deadline: number;
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  /** Runs `fn` every `ms` until stopped (default: a real timer; tests give one on their clock). */
  readonly every?: (ms: number, fn: () => Promise<unknown>) => () => void;
}

const everyInterval = (ms: number, fn: () => Promise<unknown>) => {
  const timer = setInterval(() => void fn(), ms);
  timer.unref?.();
  return () => clearInterval(timer);
};

/** The lease to hold until now: never past the invocation's deadline. */
export const leaseUntil = (holder: Holder) => Math.min(holder.now() + LEASE_MS, holder.deadline);

/** The task's lease outlasts this invocation's time: a later retry will find it free. */
export class TaskHeldError extends Error {
  constructor(key: string, until: number) {
    super(
      `task ${key} is held by another invocation until ${new Date(until).toISOString()}, past this one's time; a retry will find it free`,
    );
    this.name = 'TaskHeldError';
  }
}

/**
 * Claims a task, or finds it ended, or finds another invocation holding it — a duplicate of this
 * event at work, or the attempt this one retries, killed before its lease ran out. Waiting once for
 * the lease tells them apart: a live holder renews it (`held`: this one is a duplicate), a dead one
 * does not (claimed). A lease that ends less than `keepMs` before this invocation's deadline cannot
 * be waited for: that throws {@link TaskHeldError}, so Lambda retries later. On AWS it cannot happen
 * (a lease ends within 15 s, Lambda retries after a minute); it can where the timeout is shorter.
 */
export async function claimTask(holder: Holder, key: string, keepMs: number): Promise<TaskClaim> {
  const { ledger, owner, now, sleep } = holder;
  const claim = await ledger.claim(key, owner, leaseUntil(holder), now());
  if (claim.kind !== 'held') return claim;
  const wakeAt = claim.leaseUntil + LEASE_SLACK_MS;
  if (wakeAt > holder.deadline - keepMs) throw new TaskHeldError(key, claim.leaseUntil);
  await sleep(Math.max(0, wakeAt - now()));
  return ledger.claim(key, owner, leaseUntil(holder), now());
}

/** Renews the lease every third of it until stopped; tells `onLost` if another invocation has taken the task. */
export function keepLease(holder: Holder, key: string, onLost: () => void): () => void {
  return (holder.every ?? everyInterval)(LEASE_MS / 3, () =>
    holder.ledger.renew(key, holder.owner, leaseUntil(holder)).then(
      (held) => held || onLost(),
      // A failed renewal is tried again at the next beat; the lease outlasts two of them.
      () => undefined,
    ),
  );
}
