import type { ServiceDefinition, UntypedServiceImplementation } from './server/router';

/** Builds an admin service's definition (grpc-js's GetServiceDefinition). */
export type GetServiceDefinition = () => ServiceDefinition;
/** Builds an admin service's handlers (grpc-js's GetHandlers). */
export type GetHandlers = () => UntypedServiceImplementation;

/** What addAdminServicesToServer() needs of a server: ours, or grpc-js's. */
export interface AdminServiceTarget {
  addService(service: ServiceDefinition, implementation: UntypedServiceImplementation): void;
}

const registered: { getServiceDefinition: GetServiceDefinition; getHandlers: GetHandlers }[] = [];

/**
 * Registers an admin service, added to servers by addAdminServicesToServer() (grpc-js's
 * experimental.registerAdminService). h2grpc registers none itself: grpc-js's channelz is not
 * implemented, so a channelz client gets UNIMPLEMENTED.
 */
export function registerAdminService(getServiceDefinition: GetServiceDefinition, getHandlers: GetHandlers): void {
  if (typeof getServiceDefinition !== 'function' || typeof getHandlers !== 'function') {
    throw new TypeError('registerAdminService(getServiceDefinition, getHandlers) takes two functions');
  }
  registered.push({ getServiceDefinition, getHandlers });
}

/** Adds every registered admin service to `server` (grpc-js's addAdminServicesToServer). */
export function addAdminServicesToServer(server: AdminServiceTarget): void {
  for (const { getServiceDefinition, getHandlers } of registered) server.addService(getServiceDefinition(), getHandlers());
}
