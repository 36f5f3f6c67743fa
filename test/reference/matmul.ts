/** Float64 reference for shaders/matmul.wgsl. */
export interface MatmulRefOptions {
  transA?: boolean;
  transB?: boolean;
  alpha?: number;
  /** Initial C for accumulation. */
  c?: ArrayLike<number>;
  batch?: number;
}

export function matmulRef(a: ArrayLike<number>, b: ArrayLike<number>, M: number, N: number, K: number, o: MatmulRefOptions = {}): Float64Array {
  const batch = o.batch ?? 1;
  const alpha = o.alpha ?? 1;
  const out = new Float64Array(batch * M * N);
  for (let z = 0; z < batch; z++) {
    const ab = z * M * K;
    const bb = z * K * N;
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          const av = o.transA ? a[ab + k * M + m] : a[ab + m * K + k];
          const bv = o.transB ? b[bb + n * K + k] : b[bb + k * N + n];
          s += av * bv;
        }
        const i = z * M * N + m * N + n;
        out[i] = alpha * s + (o.c !== undefined ? o.c[i] : 0);
      }
    }
  }
  return out;
}
