/**
 * The Echo service of protos/echo.proto for Connect-ES: its descriptors (built from the .proto with
 * protobufjs, typed as protoc-gen-es would type them), a Connect implementation with a few test
 * behaviours, and connect-node client transports over node:http2.
 */
import * as protobuf from 'protobufjs';
import 'protobufjs/ext/descriptor';
import { create, createFileRegistry, fromBinary, type Message } from '@bufbuild/protobuf';
import type { GenMessage, GenService } from '@bufbuild/protobuf/codegenv2';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { Code, ConnectError, createClient, type Client, type ConnectRouter, type HandlerContext, type Transport } from '@connectrpc/connect';
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport, Http2SessionManager } from '@connectrpc/connect-node';
import { ECHO_PROTO } from '../../examples/echo-service';

export type EchoRequest = Message<'grpc.examples.echo.EchoRequest'> & { message: string };
export type EchoResponse = Message<'grpc.examples.echo.EchoResponse'> & { message: string };

/** The same shape protoc-gen-es generates for the Echo service. */
export type EchoService = GenService<{
  unaryEcho: { methodKind: 'unary'; input: typeof EchoRequestSchema; output: typeof EchoResponseSchema };
  serverStreamingEcho: { methodKind: 'server_streaming'; input: typeof EchoRequestSchema; output: typeof EchoResponseSchema };
  clientStreamingEcho: { methodKind: 'client_streaming'; input: typeof EchoRequestSchema; output: typeof EchoResponseSchema };
  bidirectionalStreamingEcho: { methodKind: 'bidi_streaming'; input: typeof EchoRequestSchema; output: typeof EchoResponseSchema };
}>;

function loadRegistry() {
  const root = protobuf.loadSync(ECHO_PROTO);
  // protobufjs/ext/descriptor adds toDescriptor(): the FileDescriptorSet of what was loaded.
  const set = (root as unknown as { toDescriptor(syntax: string): protobuf.Message }).toDescriptor('proto3');
  const bytes = (set.constructor as unknown as { encode(message: protobuf.Message): protobuf.Writer }).encode(set).finish();
  const files = fromBinary(FileDescriptorSetSchema, bytes);
  // protobufjs writes json_name as "" rather than leaving it out; protoc writes the lowerCamelCase name.
  for (const file of files.file)
    for (const message of file.messageType)
      for (const field of message.field) field.jsonName = field.name.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase());
  return createFileRegistry(files);
}

const registry = loadRegistry();
export const EchoRequestSchema = registry.getMessage('grpc.examples.echo.EchoRequest') as unknown as GenMessage<EchoRequest>;
export const EchoResponseSchema = registry.getMessage('grpc.examples.echo.EchoResponse') as unknown as GenMessage<EchoResponse>;
export const EchoServiceDesc = registry.getService('grpc.examples.echo.Echo') as unknown as EchoService;

/** What the echo implementation saw, for assertions. */
export interface EchoRecorder {
  /** The reason of each handler signal that fired while a call waited ("wait"). */
  aborts: unknown[];
  /** Request headers of the latest call. */
  lastRequestHeader: Headers | null;
  /** Calls that started waiting ("wait"). */
  waiting: number;
}

export function echoRecorder(): EchoRecorder {
  return { aborts: [], lastRequestHeader: null, waiting: 0 };
}

/** Waits until the handler's signal fires, records its reason and fails with it. */
async function waitForAbort(context: HandlerContext, recorder: EchoRecorder): Promise<never> {
  recorder.waiting++;
  const signal = context.signal;
  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
  recorder.aborts.push(signal.reason);
  throw ConnectError.from(signal.reason);
}

/**
 * Message conventions: "fail:<code>:<text>" fails with that code, a detail (an EchoResponse
 * "detail:<text>") and the metadata x-fail: yes; "wait" waits for the call's signal; "headers" echoes
 * request header x-request as response header x-echo-header and trailer x-echo-trailer;
 * "repeat:<n>:<text>" (server streaming) sends text n times.
 */
export function echoRoutes(recorder: EchoRecorder = echoRecorder()) {
  const reply = (message: string) => create(EchoResponseSchema, { message });
  const special = async (message: string, context: HandlerContext): Promise<void> => {
    recorder.lastRequestHeader = context.requestHeader;
    const failure = /^fail:(\d+):(.*)$/s.exec(message);
    if (failure !== null) {
      throw new ConnectError(failure[2], Number(failure[1]) as Code, { 'x-fail': 'yes' }, [
        { desc: EchoResponseSchema, value: { message: `detail:${failure[2]}` } },
      ]);
    }
    if (message === 'wait') await waitForAbort(context, recorder);
    if (message === 'headers') {
      const value = context.requestHeader.get('x-request') ?? '';
      context.responseHeader.set('x-echo-header', value);
      context.responseTrailer.set('x-echo-trailer', value);
    }
  };
  return (router: ConnectRouter) =>
    router.service(EchoServiceDesc, {
      async unaryEcho(request, context) {
        await special(request.message, context);
        return reply(request.message);
      },
      async *serverStreamingEcho(request, context) {
        await special(request.message, context);
        const match = /^repeat:(\d+):(.*)$/s.exec(request.message);
        const count = match ? Number(match[1]) : 1;
        for (let index = 0; index < count; index++) yield reply(match ? match[2] : request.message);
      },
      async clientStreamingEcho(requests, context) {
        const messages: string[] = [];
        for await (const request of requests) {
          await special(request.message, context);
          messages.push(request.message);
        }
        return reply(messages.join(','));
      },
      async *bidirectionalStreamingEcho(requests, context) {
        for await (const request of requests) {
          await special(request.message, context);
          yield reply(request.message);
        }
      },
    });
}

export type ProtocolName = 'connect' | 'grpc' | 'grpc-web';

/** A connect-node client (node:http2) for one protocol; close() ends its HTTP/2 session. */
export function connectNodeClient(
  protocol: ProtocolName,
  port: number,
  options: Partial<Parameters<typeof createGrpcTransport>[0]> = {},
): { client: Client<EchoService>; transport: Transport; close(): void } {
  const baseUrl = `http://127.0.0.1:${port}`;
  const sessionManager = new Http2SessionManager(baseUrl);
  const common = { baseUrl, httpVersion: '2' as const, sessionManager, ...options };
  const transport =
    protocol === 'connect' ? createConnectTransport(common) : protocol === 'grpc' ? createGrpcTransport(common) : createGrpcWebTransport(common);
  return { client: createClient(EchoServiceDesc, transport), transport, close: () => sessionManager.abort() };
}

export { Code, ConnectError };
