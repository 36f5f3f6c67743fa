/**
 * The ONNX weight variants transformers.js loads (onnx/model.onnx = fp32, model_fp16.onnx,
 * model_quantized.onnx = q8, model_q4.onnx, model_q4f16.onnx); "auto" lets it choose for the
 * device. Constants only, so the run config and the page can name them without loading the library.
 */
export const TRANSFORMERS_DTYPES = ['auto', 'fp32', 'fp16', 'q8', 'q4', 'q4f16'] as const;
export type TransformersDtype = (typeof TRANSFORMERS_DTYPES)[number];
