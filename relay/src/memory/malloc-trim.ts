/**
 * glibc's malloc_trim(3), from the relay's native addon (native/malloc-trim.c, built by
 * scripts/build-native.mjs). The addon is optional: when it was not built, or the C library is not
 * glibc, `loadMallocTrim` says why and the relay runs without trimming.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** The built addon; the same relative path from src/memory (tests) and dist/memory. */
export const ADDON_PATH = fileURLToPath(new URL('../../native/build/Release/malloc_trim.node', import.meta.url));

interface Addon {
  trim(): boolean;
  supported: boolean;
}

export type MallocTrim = { trim: () => boolean } | { unavailable: string };

export function loadMallocTrim(addonPath = ADDON_PATH): MallocTrim {
  let addon: Addon;
  try {
    addon = createRequire(import.meta.url)(addonPath) as Addon;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { unavailable: code === 'MODULE_NOT_FOUND' ? 'the native addon was not built (see relay/scripts/build-native.mjs)' : (err as Error).message };
  }
  if (!addon.supported) return { unavailable: 'the C library is not glibc' };
  return { trim: () => addon.trim() };
}
