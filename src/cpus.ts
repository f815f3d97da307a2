/**
 * How many CPUs this process may really use: the cgroup's CPU quota where one is set
 * (containers see every core of the host), read once per call from /sys/fs/cgroup.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The CPU quota of this process's cgroup, in whole CPUs (rounded up), or undefined without one.
 * Containers often see every core of the host but may use only a few: more threads than that
 * would spin against each other. cgroup v2 (`cpu.max`: "quota period" or "max period"), else v1.
 */
export function cgroupCpuLimit(root = '/sys/fs/cgroup'): number | undefined {
  const read = (f: string) => {
    try {
      return readFileSync(join(root, f), 'utf8').trim();
    } catch {
      return undefined;
    }
  };
  const v2 = read('cpu.max');
  if (v2) {
    const [quota, period] = v2.split(/\s+/);
    const q = Number(quota);
    const p = Number(period);
    return quota !== 'max' && q > 0 && p > 0 ? Math.max(1, Math.ceil(q / p)) : undefined;
  }
  const q = Number(read('cpu/cpu.cfs_quota_us'));
  const p = Number(read('cpu/cpu.cfs_period_us'));
  return q > 0 && p > 0 ? Math.max(1, Math.ceil(q / p)) : undefined;
}
