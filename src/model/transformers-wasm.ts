/**
 * onnxruntime-web's wasm runtime (the asyncify build transformers.js asks for: WebGPU with a
 * wasm fallback), bundled by Vite as files of the app. Set as `env.backends.onnx.wasm.wasmPaths`
 * so the page never fetches them from a CDN.
 */
import ortWasm from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url';
import ortMjs from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.mjs?url';

export const ORT_WASM_PATHS = { mjs: ortMjs, wasm: ortWasm } as const;
