/**
 * grpc-message percent-encoding (PROTOCOL-HTTP2.md "Status-Message"): bytes outside printable
 * ASCII (0x20–0x7E) and '%' itself are sent as %XX of the message's UTF-8 bytes.
 */
export function encodeStatusMessage(message: string): string {
  let plain = true;
  for (let index = 0; index < message.length; index++) {
    const code = message.charCodeAt(index);
    if (code < 0x20 || code > 0x7e || code === 0x25) {
      plain = false;
      break;
    }
  }
  if (plain) return message;
  const bytes = Buffer.from(message, 'utf8');
  let out = '';
  for (const byte of bytes) {
    if (byte >= 0x20 && byte <= 0x7e && byte !== 0x25) out += String.fromCharCode(byte);
    else out += '%' + HEX[byte >> 4] + HEX[byte & 15];
  }
  return out;
}

const HEX = '0123456789ABCDEF';

/**
 * Decodes a received grpc-message. The spec says a receiver must not fail on an invalid encoding:
 * a '%' not followed by two hex digits is kept literally.
 */
export function decodeStatusMessage(encoded: string): string {
  if (encoded.indexOf('%') === -1) return encoded;
  const bytes: number[] = [];
  for (let index = 0; index < encoded.length; index++) {
    const code = encoded.charCodeAt(index);
    if (code === 0x25 && index + 2 < encoded.length + 0 && isHex(encoded.charCodeAt(index + 1)) && isHex(encoded.charCodeAt(index + 2))) {
      bytes.push(parseInt(encoded.substr(index + 1, 2), 16));
      index += 2;
    } else {
      bytes.push(code & 0xff);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

function isHex(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 70) || (code >= 97 && code <= 102);
}
