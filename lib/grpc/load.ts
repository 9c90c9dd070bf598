import { type ClientServiceDefinition, makeClientConstructor, type ServiceClientConstructor } from './client/client';
import type { ServiceDefinition } from './server/router';

/**
 * A loaded service: a client class as grpc-js's ServiceClientConstructor (`new pkg.Echo(target,
 * credentials, options)`), whose `service` is the definition Server.addService takes.
 */
export type LoadedService = ServiceClientConstructor & { service: ServiceDefinition & ClientServiceDefinition };

export interface GrpcObject {
  [name: string]: GrpcObject | LoadedService | unknown;
}

function isServiceDefinition(value: unknown): value is ServiceDefinition {
  if (typeof value !== 'object' || value === null || 'format' in value) return false;
  const methods = Object.values(value);
  return methods.length > 0 && methods.every((method) => typeof method === 'object' && method !== null && 'path' in method && 'requestStream' in method);
}

/**
 * Turns a @grpc/proto-loader package definition ({ 'pkg.Service': methods, 'pkg.Message': type })
 * into nested objects, like grpc-js's loadPackageDefinition: `loaded.pkg.Service` is a client
 * class and `loaded.pkg.Service.service` the service definition Server.addService takes. Message
 * and enum descriptors pass through.
 */
export function loadPackageDefinition(packageDefinition: { [fullName: string]: unknown }): GrpcObject {
  const result: GrpcObject = {};
  for (const [fullName, value] of Object.entries(packageDefinition)) {
    const parts = fullName.split('.');
    const name = parts.pop()!;
    let current = result;
    for (const part of parts) {
      if (current[part] === undefined) current[part] = {};
      current = current[part] as GrpcObject;
    }
    current[name] = isServiceDefinition(value) ? makeClientConstructor(value as ClientServiceDefinition, name) : value;
  }
  return result;
}
