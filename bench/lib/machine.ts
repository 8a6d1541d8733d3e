import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

// Linux reports CPU time in clock ticks of 1/100 s (USER_HZ) in /proc.
const TICK_S = 0.01;
let childrenCpuS = 0;

/** CPU seconds a process has used so far (user + system), or 0 once it is gone. */
export function processCpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) * TICK_S;
  } catch {
    return 0;
  }
}

/** bench/lib/child.ts reports here what each server used before it stopped. */
export function addChildCpu(seconds: number): void {
  childrenCpuS += seconds;
}

function machineCpu() {
  const [, user, nice, system, , , irq, softirq, steal] = readFileSync("/proc/stat", "utf8")
    .split("\n")[0]!
    .trim()
    .split(/\s+/)
    .map(Number);
  return { busy: (user! + nice! + system! + irq! + softirq!) * TICK_S, steal: steal! * TICK_S };
}

export interface MachineUsage {
  /** Cores' worth of CPU used by the bench: load generator, servers, Redis. */
  benchCores: number;
  /** Cores' worth used by everything else on the machine meanwhile: the noise in the figures. */
  otherCores: number;
  /** Cores' worth the hypervisor took away (steal). */
  stolenCores: number;
}

/**
 * Measures who used the CPU during a scenario. The machine is shared: a ratio measured while other
 * work took a core is worth less, and the output says so.
 */
export function startUsage(redisPid: number): { stop(): MachineUsage } {
  const startedAt = performance.now();
  const machine = machineCpu();
  const own = process.cpuUsage();
  const redis = processCpuSeconds(redisPid);
  const children = childrenCpuS;
  return {
    stop() {
      const seconds = (performance.now() - startedAt) / 1000;
      const now = machineCpu();
      const ownUsed = process.cpuUsage(own);
      const bench =
        (ownUsed.user + ownUsed.system) / 1e6 + (processCpuSeconds(redisPid) - redis) + (childrenCpuS - children);
      const round2 = (v: number) => Math.round((v / seconds) * 100) / 100;
      return {
        benchCores: round2(bench),
        otherCores: round2(Math.max(0, now.busy - machine.busy - bench)),
        stolenCores: round2(now.steal - machine.steal),
      };
    },
  };
}

/**
 * Pins a process, all its threads, to the given CPUs (taskset syntax: "0", "1", "0-1"). With 2 cores
 * and three busy processes, where the scheduler happens to put them decides the figures more than
 * the code does; fixed places make runs comparable. False where taskset is missing.
 */
export function pin(pid: number, cpus: string): boolean {
  try {
    execFileSync("taskset", ["-a", "-pc", cpus, String(pid)], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
