import type { MethodKind, RegisteredMethod } from './method-handlers';
import { MethodStats } from './method-stats';

/** One method of a service definition as @grpc/proto-loader / grpc-js produce it. */
export interface MethodDefinition {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  requestDeserialize(data: Buffer): unknown;
  responseSerialize(value: unknown): Buffer;
  requestSerialize?(value: unknown): Buffer;
  responseDeserialize?(data: Buffer): unknown;
  originalName?: string;
}

export type ServiceDefinition = { [methodName: string]: MethodDefinition };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type UntypedServiceImplementation = { [name: string]: (...args: any[]) => unknown };

function kindOf(definition: MethodDefinition): MethodKind {
  if (definition.requestStream) return definition.responseStream ? 'bidi' : 'clientStream';
  return definition.responseStream ? 'serverStream' : 'unary';
}

/** Maps '/package.Service/Method' to the registered handler. */
export class Router {
  private readonly methods = new Map<string, RegisteredMethod>();

  /**
   * Registers every method of a service. The implementation may name handlers by the proto name
   * (UnaryEcho) or by grpc-js's camelCase originalName (unaryEcho), as grpc-js accepts both.
   */
  addService(service: ServiceDefinition, implementation: UntypedServiceImplementation): void {
    if (typeof service !== 'object' || service === null || Object.keys(service).length === 0) {
      throw new Error('addService() requires a non-empty service definition');
    }
    if (typeof implementation !== 'object' || implementation === null) {
      throw new Error('addService() requires an implementation object');
    }
    for (const [name, definition] of Object.entries(service)) {
      if (this.methods.has(definition.path)) throw new Error(`Method handler for ${definition.path} already provided`);
      const handler = implementation[name] ?? (definition.originalName ? implementation[definition.originalName] : undefined);
      // A method without a handler answers UNIMPLEMENTED, as in grpc-js.
      if (typeof handler !== 'function') continue;
      this.methods.set(definition.path, {
        path: definition.path,
        kind: kindOf(definition),
        handler,
        requestDeserialize: definition.requestDeserialize,
        responseSerialize: definition.responseSerialize,
        stats: new MethodStats(definition.path),
      });
    }
  }

  removeService(service: ServiceDefinition): void {
    for (const definition of Object.values(service)) this.methods.delete(definition.path);
  }

  /** Registers one method (grpc-js's Server.register); false when its path is taken. */
  register(method: RegisteredMethod): boolean {
    if (this.methods.has(method.path)) return false;
    this.methods.set(method.path, method);
    return true;
  }

  /** Removes one method; returns whether it was registered. */
  unregister(path: string): boolean {
    return this.methods.delete(path);
  }

  lookup(path: string): RegisteredMethod | undefined {
    return this.methods.get(path);
  }

  /** The call counters of every registered method. */
  *methodStats(): IterableIterator<MethodStats> {
    for (const method of this.methods.values()) if (method.stats !== undefined) yield method.stats;
  }
}
