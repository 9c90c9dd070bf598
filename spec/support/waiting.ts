/** Resolves when `predicate` holds, re-checking each event-loop turn (bounded by the test's timeout). */
export async function eventually(predicate: () => boolean): Promise<void> {
  while (!predicate()) await new Promise((resolve) => setImmediate(resolve));
}

/** Every item a readable call delivers, once it ends (rejects on its error). */
export function collect<T>(call: NodeJS.ReadableStream): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const items: T[] = [];
    call.on('data', (item: T) => items.push(item));
    call.on('end', () => resolve(items));
    call.on('error', reject);
  });
}
