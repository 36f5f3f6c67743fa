import { afterAll } from 'vitest';
import { releaseTestGpu } from './gpu-node';

afterAll(releaseTestGpu);
