/**
 * IPv4 CIDR arithmetic for network layouts and overlap checks. Plain functions over 32-bit unsigned integers,
 * so the subnet plan of a VPC/VNet is computed (and tested) before anything is created.
 */

export interface Cidr {
  /** Network address as an unsigned 32-bit integer. */
  base: number;
  prefix: number;
}

const CIDR_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

/** Parses `a.b.c.d/n`; undefined when malformed, an octet is > 255, n > 32, or host bits are set. */
export function parseCidr(text: string): Cidr | undefined {
  const m = CIDR_RE.exec(text);
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  if (octets.some((o) => o > 255) || prefix > 32) return undefined;
  const base = octets.reduce((acc, o) => acc * 256 + o, 0);
  if (base % blockSize(prefix) !== 0) return undefined;
  return { base, prefix };
}

export const blockSize = (prefix: number) => 2 ** (32 - prefix);

export function formatCidr(c: Cidr): string {
  const o = [24, 16, 8, 0].map((shift) => Math.floor(c.base / 2 ** shift) % 256);
  return `${o.join(".")}/${c.prefix}`;
}

export function formatAddress(address: number): string {
  return formatCidr({ base: address, prefix: 32 }).replace(/\/32$/, "");
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  return a.base < b.base + blockSize(b.prefix) && b.base < a.base + blockSize(a.prefix);
}

export function contains(outer: Cidr, inner: Cidr): boolean {
  return (
    inner.prefix >= outer.prefix &&
    inner.base >= outer.base &&
    inner.base + blockSize(inner.prefix) <= outer.base + blockSize(outer.prefix)
  );
}

/** The `index`-th subnet of `newPrefix` inside `parent` (terraform's cidrsubnet). */
export function subnet(parent: Cidr, newPrefix: number, index: number): Cidr {
  if (newPrefix < parent.prefix || newPrefix > 32) throw new Error(`cannot split /${parent.prefix} into /${newPrefix}`);
  const count = 2 ** (newPrefix - parent.prefix);
  if (index < 0 || index >= count) throw new Error(`subnet index ${index} out of range (0..${count - 1})`);
  return { base: parent.base + index * blockSize(newPrefix), prefix: newPrefix };
}

/** Smallest and largest VPC/VNet prefix the subnet plans below accept. */
export const NETWORK_PREFIX_RANGE = { min: 16, max: 20 } as const;

/**
 * The EKS VPC plan: the network is cut in four quarters; one private (node and pod) subnet per zone takes a
 * quarter each (pods get VPC addresses with the VPC CNI, so they get the room), and the last quarter holds
 * the small public (load balancer, NAT) subnets, one sixteenth of it per zone.
 */
export function vpcSubnetPlan(vpcCidr: string, zones: number): { private: string[]; public: string[] } {
  const vpc = parseCidr(vpcCidr);
  if (!vpc) throw new Error(`'${vpcCidr}' is not an IPv4 CIDR`);
  if (zones < 1 || zones > 3) throw new Error(`zones must be 1..3, got ${zones}`);
  const quarters = [0, 1, 2, 3].map((i) => subnet(vpc, vpc.prefix + 2, i));
  return {
    private: quarters.slice(0, zones).map(formatCidr),
    public: Array.from({ length: zones }, (_, i) => formatCidr(subnet(quarters[3], quarters[3].prefix + 4, i))),
  };
}

/** The AKS VNet plan: nodes take the first half (pods live on the CNI overlay, outside the VNet). */
export function vnetSubnetPlan(vnetCidr: string): { nodes: string } {
  const vnet = parseCidr(vnetCidr);
  if (!vnet) throw new Error(`'${vnetCidr}' is not an IPv4 CIDR`);
  return { nodes: formatCidr(subnet(vnet, vnet.prefix + 1, 0)) };
}

/** The cluster DNS service address: the tenth address of the service range (AKS and kubeadm convention). */
export function dnsServiceIp(serviceCidr: string): string {
  const c = parseCidr(serviceCidr);
  if (!c) throw new Error(`'${serviceCidr}' is not an IPv4 CIDR`);
  return formatAddress(c.base + 10);
}
