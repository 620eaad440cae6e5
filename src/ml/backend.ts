/**
 * TensorFlow.js backend choice (SPEC section 1): tfjs-node-gpu, then tfjs-node
 * when the user installed one; then WebGPU when `webgpu` and
 * `@tensorflow/tfjs-backend-webgpu` are installed and an adapter is found; then
 * WASM; then the plain CPU backend. OPTIFLOW_TF_BACKEND forces one
 * (node-gpu | node | webgpu | wasm | cpu). None of the optional packages is a
 * dependency: they are loaded only if present.
 */
import * as tf from '@tensorflow/tfjs';

export type TfBackend = 'node-gpu' | 'node' | 'webgpu' | 'wasm' | 'cpu';
let chosen: Promise<TfBackend> | null = null;

async function tryImport(name: string): Promise<unknown | null> {
  try {
    return await import(name);
  } catch {
    return null;
  }
}

async function attempt(b: TfBackend): Promise<boolean> {
  try {
    switch (b) {
      case 'node-gpu':
        return !!(await tryImport('@tensorflow/tfjs-node-gpu')) && (await tf.setBackend('tensorflow'));
      case 'node':
        return !!(await tryImport('@tensorflow/tfjs-node')) && (await tf.setBackend('tensorflow'));
      case 'webgpu': {
        const gpu = (await tryImport('webgpu')) as { create?: (o: string[]) => unknown; globals?: Record<string, unknown> } | null;
        if (!gpu?.create) return false;
        Object.assign(globalThis, gpu.globals ?? {});
        (globalThis as { navigator?: unknown }).navigator = { gpu: gpu.create([]) };
        if (!(await tryImport('@tensorflow/tfjs-backend-webgpu'))) return false;
        return await tf.setBackend('webgpu');
      }
      case 'wasm':
        if (!(await tryImport('@tensorflow/tfjs-backend-wasm'))) return false;
        return await tf.setBackend('wasm');
      case 'cpu':
        return await tf.setBackend('cpu');
    }
  } catch {
    return false;
  }
}

/** Initialises the backend once per process and returns its name. */
export function initBackend(log?: { info: (m: string) => void; warn: (m: string) => void }): Promise<TfBackend> {
  if (!chosen) {
    chosen = (async () => {
      const forced = process.env.OPTIFLOW_TF_BACKEND as TfBackend | undefined;
      const order: TfBackend[] = forced ? [forced, 'wasm', 'cpu'] : ['node-gpu', 'node', 'webgpu', 'wasm', 'cpu'];
      for (const b of order) {
        if (await attempt(b)) {
          await tf.ready();
          if (forced && b !== forced) log?.warn(`OPTIFLOW_TF_BACKEND=${forced} is not available; using ${b}`);
          log?.info(`TensorFlow.js backend: ${b}`);
          return b;
        }
      }
      throw new Error('no TensorFlow.js backend could be initialised');
    })();
  }
  return chosen;
}

export { tf };
