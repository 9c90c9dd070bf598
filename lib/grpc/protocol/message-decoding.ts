import { decompress, type Encoding, MessageTooLargeError } from '../compression';
import { Status } from '../status';

/** Why a received message could not become a value: the status its call ends with. */
export class MessageDecodeError extends Error {
  constructor(
    readonly code: Status,
    readonly details: string,
  ) {
    super(details);
  }
}

/**
 * A received message's value: decompressed per its flag and the call's encoding (within
 * `maxSize`), then deserialized. Throws MessageDecodeError with the status both the server and
 * the client end the call with; `deserializeFailure` names the failing side in its details.
 */
export function decodeReceivedMessage(
  data: Buffer,
  compressed: boolean,
  encoding: Encoding,
  maxSize: number,
  deserialize: (data: Buffer) => unknown,
  deserializeFailure: string,
): unknown {
  if (compressed) {
    // A compressed flag without a grpc-encoding (or with identity) is a protocol violation.
    if (encoding === 'identity') throw new MessageDecodeError(Status.INTERNAL, 'Compressed message received without grpc-encoding');
    try {
      data = decompress(encoding, data, maxSize);
    } catch (error) {
      if (error instanceof MessageTooLargeError)
        throw new MessageDecodeError(Status.RESOURCE_EXHAUSTED, `Received message larger than max ${maxSize} after decompression`);
      throw new MessageDecodeError(Status.INTERNAL, `Failed to decompress message: ${(error as Error).message}`);
    }
  }
  try {
    return deserialize(data);
  } catch (error) {
    throw new MessageDecodeError(Status.INTERNAL, `${deserializeFailure}: ${(error as Error).message}`);
  }
}
