/**
 * @module store/storage-errors
 * A failure of object storage (R2) itself: a call that threw or timed out, or an object
 * whose bytes stopped half way. The API answers it with 503 `storage-unavailable` and
 * Retry-After; it never means the request was wrong. No I/O here, so the pure layers and
 * the adapters can share it.
 */
export class StorageUnavailableError extends Error {
  constructor(
    readonly operation: string,
    cause: unknown,
  ) {
    super(`object storage failed during ${operation}`, { cause });
    this.name = 'StorageUnavailableError';
  }
}

/** Run a storage call; any failure becomes a StorageUnavailableError (ours pass through). */
export async function storageCall<T>(operation: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    throw e instanceof StorageUnavailableError ? e : new StorageUnavailableError(operation, e);
  }
}
