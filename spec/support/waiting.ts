/**
 * Resolves when `predicate` holds, re-checking each event-loop turn. Gives up (rejects) after
 * `limitMs`, so a condition that never comes cannot keep spinning after its test has failed.
 */
export async function eventually(predicate: () => boolean, limitMs = 10_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${limitMs} ms: ${predicate.toString().slice(0, 200)}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
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
