/**
 * The facts the throughput table is derived from, each with its source: GPU memory, memory bandwidth and dense
 * FP16 tensor throughput from NVIDIA's datasheets, and the shape of the model classes from the models'
 * published configurations. `derive.ts` turns them into table rows; nothing here is a measurement.
 */

export const MODEL_CLASSES = ["8b-int4", "8b-fp16", "70b-int4", "70b-fp16"] as const;
export type ModelClass = (typeof MODEL_CLASSES)[number];

export interface GpuSpec {
  /** GPU memory, GB (10^9 bytes, as datasheets count). */
  memoryGB: number;
  /** Peak memory bandwidth, GB/s. */
  bandwidthGBs: number;
  /** Dense FP16/BF16 tensor-core throughput, TFLOPS (datasheets print the sparse figure, twice this, too). */
  fp16Tflops: number;
  source: string;
}

/** Every GPU the cloud catalog's machine types carry (`gpuOfMachine` in stacks/config/cloud-catalog.ts). */
export const GPU_SPECS_AS_OF = "2026-12-04";
export const GPU_SPECS: Readonly<Record<string, GpuSpec>> = {
  T4: { memoryGB: 16, bandwidthGBs: 320, fp16Tflops: 65, source: "https://www.nvidia.com/en-us/data-center/tesla-t4/" },
  // AWS's variant of the A10: no NVIDIA datasheet; memory and bandwidth match the A10, its tensor throughput is lower.
  A10G: {
    memoryGB: 24,
    bandwidthGBs: 600,
    fp16Tflops: 70,
    source: "https://www.baseten.co/blog/nvidia-a10-vs-a10g-for-ml-model-inference/",
  },
  L4: { memoryGB: 24, bandwidthGBs: 300, fp16Tflops: 121, source: "https://www.nvidia.com/en-us/data-center/l4/" },
  L40S: { memoryGB: 48, bandwidthGBs: 864, fp16Tflops: 362, source: "https://www.nvidia.com/en-us/data-center/l40s/" },
  "A100-40GB-SXM": {
    memoryGB: 40,
    bandwidthGBs: 1555,
    fp16Tflops: 312,
    source: "https://www.nvidia.com/en-us/data-center/a100/",
  },
  "A100-80GB-SXM": {
    memoryGB: 80,
    bandwidthGBs: 2039,
    fp16Tflops: 312,
    source: "https://www.nvidia.com/en-us/data-center/a100/",
  },
  "A100-80GB-PCIe": {
    memoryGB: 80,
    bandwidthGBs: 1935,
    fp16Tflops: 312,
    source: "https://www.nvidia.com/en-us/data-center/a100/",
  },
  "H100-SXM": { memoryGB: 80, bandwidthGBs: 3350, fp16Tflops: 989, source: "https://www.nvidia.com/en-us/data-center/h100/" },
  "H100-NVL": { memoryGB: 94, bandwidthGBs: 3900, fp16Tflops: 835, source: "https://www.nvidia.com/en-us/data-center/h100/" },
  H200: { memoryGB: 141, bandwidthGBs: 4800, fp16Tflops: 989, source: "https://www.nvidia.com/en-us/data-center/h200/" },
  B200: { memoryGB: 180, bandwidthGBs: 8000, fp16Tflops: 2250, source: "https://www.nvidia.com/en-us/data-center/hgx/" },
};

export interface ModelShape {
  /** All parameters. */
  params: number;
  hidden: number;
  layers: number;
  kvHeads: number;
  headDim: number;
  vocab: number;
  /** Bytes per weight of the quantized matrices: FP16 2; INT4 4 bits plus an FP16 scale per block of 32 (4.5 bits). */
  bytesPerWeight: number;
  source: string;
}

const LLAMA_31_8B = { params: 8.03e9, hidden: 4096, layers: 32, kvHeads: 8, headDim: 128, vocab: 128256 };
const LLAMA_31_70B = { params: 70.6e9, hidden: 8192, layers: 80, kvHeads: 8, headDim: 128, vocab: 128256 };
const INT4_BYTES = 4.5 / 8;

/** Size classes, shaped like Llama 3.1 (the model this project serves), as ONNX Runtime GenAI's model builder exports them. */
export const MODEL_SHAPES: Readonly<Record<ModelClass, ModelShape>> = {
  "8b-int4": {
    ...LLAMA_31_8B,
    bytesPerWeight: INT4_BYTES,
    source: "https://huggingface.co/meta-llama/Llama-3.1-8B-Instruct/blob/main/config.json",
  },
  "8b-fp16": {
    ...LLAMA_31_8B,
    bytesPerWeight: 2,
    source: "https://huggingface.co/meta-llama/Llama-3.1-8B-Instruct/blob/main/config.json",
  },
  "70b-int4": {
    ...LLAMA_31_70B,
    bytesPerWeight: INT4_BYTES,
    source: "https://huggingface.co/meta-llama/Llama-3.1-70B-Instruct/blob/main/config.json",
  },
  "70b-fp16": {
    ...LLAMA_31_70B,
    bytesPerWeight: 2,
    source: "https://huggingface.co/meta-llama/Llama-3.1-70B-Instruct/blob/main/config.json",
  },
};

/** Weights read for every decode step: all but the input embedding (a lookup reads one row of it). */
export function streamedWeightBytes(m: ModelShape): number {
  return (m.params - m.vocab * m.hidden) * m.bytesPerWeight;
}

/** Weights resident on the GPU: the streamed ones plus the FP16 input embedding. */
export function residentWeightBytes(m: ModelShape): number {
  return streamedWeightBytes(m) + m.vocab * m.hidden * 2;
}

/** FP16 key and value cache per token of context: K and V, every layer, every KV head. */
export function kvBytesPerToken(m: ModelShape): number {
  return 2 * m.layers * m.kvHeads * m.headDim * 2;
}
