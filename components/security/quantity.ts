/** Arithmetic on the Kubernetes quantities the settings model allows ("500m", "1.5", "4"; "512Mi", "24Gi"). */

const MEMORY_UNITS: Record<string, number> = { Ki: 1 / 1024, Mi: 1, Gi: 1024, Ti: 1024 * 1024 };

export function cpuMillis(q: string): number {
  const m = /^([0-9]+)m$/.exec(q);
  if (m) return Number(m[1]);
  if (/^[0-9]+(\.[0-9]+)?$/.test(q)) return Math.round(Number(q) * 1000);
  throw new Error(`'${q}' is not a CPU quantity such as 500m or 4`);
}

export function memoryMi(q: string): number {
  const m = /^([0-9]+)(Ki|Mi|Gi|Ti)$/.exec(q);
  if (!m) throw new Error(`'${q}' is not a memory quantity such as 512Mi or 24Gi`);
  return Number(m[1]) * MEMORY_UNITS[m[2]];
}

export const formatCpu = (millis: number) => (millis % 1000 === 0 ? String(millis / 1000) : `${millis}m`);
export const formatMemory = (mi: number) => (mi % 1024 === 0 ? `${mi / 1024}Gi` : `${Math.ceil(mi)}Mi`);
