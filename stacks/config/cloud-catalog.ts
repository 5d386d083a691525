/**
 * Small, dated tables the cloud settings are checked against: region names, GPU instance types and VM sizes,
 * Azure region pairs. They change a few times a year; a value missing here fails validation with a message
 * that names this file, so extending them is a one-line, reviewed change.
 */

export const CATALOG_AS_OF = "2025-06-01";

/** Commercial and GovCloud regions. Source: https://docs.aws.amazon.com/global-infrastructure/latest/regions/aws-regions.html */
export const AWS_REGIONS: readonly string[] = [
  "us-east-1",
  "us-east-2",
  "us-west-1",
  "us-west-2",
  "ca-central-1",
  "ca-west-1",
  "mx-central-1",
  "sa-east-1",
  "eu-west-1",
  "eu-west-2",
  "eu-west-3",
  "eu-central-1",
  "eu-central-2",
  "eu-north-1",
  "eu-south-1",
  "eu-south-2",
  "ap-south-1",
  "ap-south-2",
  "ap-southeast-1",
  "ap-southeast-2",
  "ap-southeast-3",
  "ap-southeast-4",
  "ap-southeast-5",
  "ap-southeast-7",
  "ap-northeast-1",
  "ap-northeast-2",
  "ap-northeast-3",
  "ap-east-1",
  "me-south-1",
  "me-central-1",
  "il-central-1",
  "af-south-1",
  "us-gov-west-1",
  "us-gov-east-1",
];

/**
 * Azure regions and their pair (geo-redundant storage replicates to the pair; `null`: no pair, so no GRS).
 * Source: https://learn.microsoft.com/azure/reliability/cross-region-replication-azure
 */
export const AZURE_REGION_PAIRS: Readonly<Record<string, string | null>> = {
  eastus: "westus",
  westus: "eastus",
  eastus2: "centralus",
  centralus: "eastus2",
  westus2: "westcentralus",
  westcentralus: "westus2",
  westus3: "eastus",
  northcentralus: "southcentralus",
  southcentralus: "northcentralus",
  canadacentral: "canadaeast",
  canadaeast: "canadacentral",
  brazilsouth: "southcentralus",
  northeurope: "westeurope",
  westeurope: "northeurope",
  uksouth: "ukwest",
  ukwest: "uksouth",
  francecentral: "francesouth",
  francesouth: "francecentral",
  germanywestcentral: "germanynorth",
  germanynorth: "germanywestcentral",
  switzerlandnorth: "switzerlandwest",
  switzerlandwest: "switzerlandnorth",
  norwayeast: "norwaywest",
  norwaywest: "norwayeast",
  swedencentral: "swedensouth",
  swedensouth: "swedencentral",
  australiaeast: "australiasoutheast",
  australiasoutheast: "australiaeast",
  japaneast: "japanwest",
  japanwest: "japaneast",
  koreacentral: "koreasouth",
  koreasouth: "koreacentral",
  southeastasia: "eastasia",
  eastasia: "southeastasia",
  centralindia: "southindia",
  southindia: "centralindia",
  uaenorth: "uaecentral",
  uaecentral: "uaenorth",
  southafricanorth: "southafricawest",
  southafricawest: "southafricanorth",
  polandcentral: null,
  italynorth: null,
  spaincentral: null,
  israelcentral: null,
  qatarcentral: null,
  mexicocentral: null,
  newzealandnorth: null,
};
export const AZURE_REGIONS: readonly string[] = Object.keys(AZURE_REGION_PAIRS);

/** The g5, g6 and g6e families: one GPU up to 16xlarge, four at 12xlarge and 24xlarge, eight at 48xlarge. */
const SINGLE_QUAD_OCTA = {
  xlarge: 1,
  "2xlarge": 1,
  "4xlarge": 1,
  "8xlarge": 1,
  "16xlarge": 1,
  "12xlarge": 4,
  "24xlarge": 4,
  "48xlarge": 8,
};

/**
 * EC2 instance types with NVIDIA GPUs that the EKS AL2023 NVIDIA AMI (x86_64) supports, with GPUs per
 * instance. Source: https://aws.amazon.com/ec2/instance-types/#Accelerated_Computing
 */
export const EC2_GPU_INSTANCE_TYPES: Readonly<Record<string, number>> = {
  ...sizes("g4dn", { xlarge: 1, "2xlarge": 1, "4xlarge": 1, "8xlarge": 1, "16xlarge": 1, "12xlarge": 4, metal: 8 }),
  ...sizes("g5", SINGLE_QUAD_OCTA),
  ...sizes("g6", SINGLE_QUAD_OCTA),
  ...sizes("g6e", SINGLE_QUAD_OCTA),
  ...sizes("gr6", { "4xlarge": 1, "8xlarge": 1 }),
  "p4d.24xlarge": 8,
  "p4de.24xlarge": 8,
  "p5.48xlarge": 8,
  "p5e.48xlarge": 8,
  "p5en.48xlarge": 8,
  "p6-b200.48xlarge": 8,
};

/**
 * Azure VM sizes with NVIDIA GPUs that AKS GPU pools support (the NV A10 v5 sizes need the GRID driver and
 * are left out). Source: https://learn.microsoft.com/azure/aks/gpu-cluster#supported-gpu-enabled-vms
 */
export const AZURE_GPU_VM_SIZES: Readonly<Record<string, number>> = {
  Standard_NC4as_T4_v3: 1,
  Standard_NC8as_T4_v3: 1,
  Standard_NC16as_T4_v3: 1,
  Standard_NC64as_T4_v3: 4,
  Standard_NC24ads_A100_v4: 1,
  Standard_NC48ads_A100_v4: 2,
  Standard_NC96ads_A100_v4: 4,
  Standard_NC40ads_H100_v5: 1,
  Standard_NC80adis_H100_v5: 2,
  Standard_ND96asr_v4: 8,
  Standard_ND96amsr_A100_v4: 8,
  Standard_ND96isr_H100_v5: 8,
  Standard_ND96isr_H200_v5: 8,
};

function sizes(family: string, gpus: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(gpus).map(([size, n]) => [`${family}.${size}`, n]));
}

/** A machine's capacity; the node's allocatable is this less the provider's reservations (validators.ts). */
export interface MachineShape {
  vcpu: number;
  memoryMiB: number;
  gpus: number;
  /** Pods per node the EKS AMI configures (ENIs x (IPv4 per ENI - 1) + 2); it sizes the memory reservation. */
  maxPods?: number;
}

export const SHAPES_AS_OF = "2026-12-02";

/**
 * vCPU, memory and GPUs per EC2 type: the cluster autoscaler's own static table, which it sizes scale-from-zero
 * templates from (kubernetes/autoscaler cluster-autoscaler/cloudprovider/aws/ec2_instance_types.go,
 * StaticListLastUpdateTime 2026-01-22). maxPods: awslabs/amazon-eks-ami nodeadm/internal/kubelet/instance-info.jsonl
 * (tag v20260724), VPC CNI without prefix delegation, as the node groups run.
 */
export const EC2_GPU_INSTANCE_SHAPES: Readonly<Record<string, MachineShape>> = {
  "g4dn.xlarge": { vcpu: 4, memoryMiB: 16384, gpus: 1, maxPods: 29 },
  "g4dn.2xlarge": { vcpu: 8, memoryMiB: 32768, gpus: 1, maxPods: 29 },
  "g4dn.4xlarge": { vcpu: 16, memoryMiB: 65536, gpus: 1, maxPods: 29 },
  "g4dn.8xlarge": { vcpu: 32, memoryMiB: 131072, gpus: 1, maxPods: 58 },
  "g4dn.16xlarge": { vcpu: 64, memoryMiB: 262144, gpus: 1, maxPods: 58 },
  "g4dn.12xlarge": { vcpu: 48, memoryMiB: 196608, gpus: 4, maxPods: 234 },
  "g4dn.metal": { vcpu: 96, memoryMiB: 393216, gpus: 8, maxPods: 737 },
  "g5.xlarge": { vcpu: 4, memoryMiB: 16384, gpus: 1, maxPods: 58 },
  "g5.2xlarge": { vcpu: 8, memoryMiB: 32768, gpus: 1, maxPods: 58 },
  "g5.4xlarge": { vcpu: 16, memoryMiB: 65536, gpus: 1, maxPods: 234 },
  "g5.8xlarge": { vcpu: 32, memoryMiB: 131072, gpus: 1, maxPods: 234 },
  "g5.16xlarge": { vcpu: 64, memoryMiB: 262144, gpus: 1, maxPods: 234 },
  "g5.12xlarge": { vcpu: 48, memoryMiB: 196608, gpus: 4, maxPods: 737 },
  "g5.24xlarge": { vcpu: 96, memoryMiB: 393216, gpus: 4, maxPods: 737 },
  "g5.48xlarge": { vcpu: 192, memoryMiB: 786432, gpus: 8, maxPods: 345 },
  "g6.xlarge": { vcpu: 4, memoryMiB: 16384, gpus: 1, maxPods: 58 },
  "g6.2xlarge": { vcpu: 8, memoryMiB: 32768, gpus: 1, maxPods: 58 },
  "g6.4xlarge": { vcpu: 16, memoryMiB: 65536, gpus: 1, maxPods: 234 },
  "g6.8xlarge": { vcpu: 32, memoryMiB: 131072, gpus: 1, maxPods: 234 },
  "g6.16xlarge": { vcpu: 64, memoryMiB: 262144, gpus: 1, maxPods: 737 },
  "g6.12xlarge": { vcpu: 48, memoryMiB: 196608, gpus: 4, maxPods: 234 },
  "g6.24xlarge": { vcpu: 96, memoryMiB: 393216, gpus: 4, maxPods: 737 },
  "g6.48xlarge": { vcpu: 192, memoryMiB: 786432, gpus: 8, maxPods: 737 },
  "g6e.xlarge": { vcpu: 4, memoryMiB: 32768, gpus: 1, maxPods: 58 },
  "g6e.2xlarge": { vcpu: 8, memoryMiB: 65536, gpus: 1, maxPods: 58 },
  "g6e.4xlarge": { vcpu: 16, memoryMiB: 131072, gpus: 1, maxPods: 234 },
  "g6e.8xlarge": { vcpu: 32, memoryMiB: 262144, gpus: 1, maxPods: 234 },
  "g6e.16xlarge": { vcpu: 64, memoryMiB: 524288, gpus: 1, maxPods: 737 },
  "g6e.12xlarge": { vcpu: 48, memoryMiB: 393216, gpus: 4, maxPods: 292 },
  "g6e.24xlarge": { vcpu: 96, memoryMiB: 786432, gpus: 4, maxPods: 492 },
  "g6e.48xlarge": { vcpu: 192, memoryMiB: 1572864, gpus: 8, maxPods: 492 },
  "gr6.4xlarge": { vcpu: 16, memoryMiB: 131072, gpus: 1, maxPods: 234 },
  "gr6.8xlarge": { vcpu: 32, memoryMiB: 262144, gpus: 1, maxPods: 234 },
  "p4d.24xlarge": { vcpu: 96, memoryMiB: 1179648, gpus: 8, maxPods: 737 },
  "p4de.24xlarge": { vcpu: 96, memoryMiB: 1179648, gpus: 8, maxPods: 737 },
  "p5.48xlarge": { vcpu: 192, memoryMiB: 2097152, gpus: 8, maxPods: 100 },
  // Not in the autoscaler's static list: AWS's accelerated-computing page gives the p5 shape (192 vCPU, 2 TiB).
  "p5e.48xlarge": { vcpu: 192, memoryMiB: 2097152, gpus: 8, maxPods: 100 },
  "p5en.48xlarge": { vcpu: 192, memoryMiB: 2097152, gpus: 8, maxPods: 198 },
  "p6-b200.48xlarge": { vcpu: 192, memoryMiB: 2097152, gpus: 8, maxPods: 198 },
};
/**
 * vCPU, memory and GPUs per Azure VM size: kubernetes/autoscaler
 * cluster-autoscaler/cloudprovider/azure/azure_instance_types.go (2026-03-05). AKS pools use Azure CNI overlay,
 * whose default is 250 pods per node (AKS_MAX_PODS).
 */
export const AZURE_GPU_VM_SHAPES: Readonly<Record<string, MachineShape>> = {
  Standard_NC4as_T4_v3: { vcpu: 4, memoryMiB: 28672, gpus: 1 },
  Standard_NC8as_T4_v3: { vcpu: 8, memoryMiB: 57344, gpus: 1 },
  Standard_NC16as_T4_v3: { vcpu: 16, memoryMiB: 112640, gpus: 1 },
  Standard_NC64as_T4_v3: { vcpu: 64, memoryMiB: 450560, gpus: 4 },
  Standard_NC24ads_A100_v4: { vcpu: 24, memoryMiB: 225280, gpus: 1 },
  Standard_NC48ads_A100_v4: { vcpu: 48, memoryMiB: 450560, gpus: 2 },
  Standard_NC96ads_A100_v4: { vcpu: 96, memoryMiB: 901120, gpus: 4 },
  Standard_NC40ads_H100_v5: { vcpu: 40, memoryMiB: 327680, gpus: 1 },
  Standard_NC80adis_H100_v5: { vcpu: 80, memoryMiB: 655360, gpus: 2 },
  Standard_ND96asr_v4: { vcpu: 96, memoryMiB: 921600, gpus: 8 },
  Standard_ND96amsr_A100_v4: { vcpu: 96, memoryMiB: 1843200, gpus: 8 },
  Standard_ND96isr_H100_v5: { vcpu: 96, memoryMiB: 1945600, gpus: 8 },
  Standard_ND96isr_H200_v5: { vcpu: 96, memoryMiB: 1894400, gpus: 8 },
};

/** Default pods per node with Azure CNI overlay: https://learn.microsoft.com/azure/aks/concepts-network-ip-address-planning#maximum-pods-per-node */
export const AKS_MAX_PODS = 250;

/**
 * The GPU each machine type carries, by EC2 family (g4dn T4, g5 A10G, g6/gr6 L4, g6e L40S, p4d A100 40GB, p4de
 * A100 80GB, p5 H100, p5e/p5en H200, p6-b200 B200) and by Azure VM size, from the same pages as the tables
 * above. The capacity planner looks its throughput up by these names (stacks/capacity/hardware.ts).
 */
const EC2_GPU_BY_FAMILY: Readonly<Record<string, string>> = {
  g4dn: "T4",
  g5: "A10G",
  g6: "L4",
  gr6: "L4",
  g6e: "L40S",
  p4d: "A100-40GB-SXM",
  p4de: "A100-80GB-SXM",
  p5: "H100-SXM",
  p5e: "H200",
  p5en: "H200",
  "p6-b200": "B200",
};
const AZURE_GPU_BY_SIZE: Readonly<Record<string, string>> = {
  Standard_NC4as_T4_v3: "T4",
  Standard_NC8as_T4_v3: "T4",
  Standard_NC16as_T4_v3: "T4",
  Standard_NC64as_T4_v3: "T4",
  Standard_NC24ads_A100_v4: "A100-80GB-PCIe",
  Standard_NC48ads_A100_v4: "A100-80GB-PCIe",
  Standard_NC96ads_A100_v4: "A100-80GB-PCIe",
  Standard_NC40ads_H100_v5: "H100-NVL",
  Standard_NC80adis_H100_v5: "H100-NVL",
  Standard_ND96asr_v4: "A100-40GB-SXM",
  Standard_ND96amsr_A100_v4: "A100-80GB-SXM",
  Standard_ND96isr_H100_v5: "H100-SXM",
  Standard_ND96isr_H200_v5: "H200",
};

/** The GPU model of an EC2 instance type or Azure VM size, or undefined for a type the catalog does not know. */
export function gpuOfMachine(machineType: string): string | undefined {
  if (machineType.startsWith("Standard_")) return AZURE_GPU_BY_SIZE[machineType];
  if (!(machineType in EC2_GPU_INSTANCE_TYPES)) return undefined;
  return EC2_GPU_BY_FAMILY[machineType.slice(0, machineType.indexOf("."))];
}
