/**
 * @module bench/lib/multipart
 * A multipart/form-data body of two images and the input kind, built once as bytes so a
 * load generator can send it unchanged.
 */
export function multipart(a: Uint8Array, b: Uint8Array, input: 'photo' | 'aligned-crop' = 'aligned-crop'): { body: Buffer; type: string } {
  const boundary = 'xfvbench0123456789';
  const part = (name: string, bytes: Uint8Array) =>
    Buffer.concat([
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${name}"; filename="${name}.png"\r\nContent-Type: image/png\r\n\r\n`,
      ),
      bytes,
      Buffer.from('\r\n'),
    ]);
  return {
    body: Buffer.concat([
      part('a', a),
      part('b', b),
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="input"\r\n\r\n${input}\r\n--${boundary}--\r\n`),
    ]),
    type: `multipart/form-data; boundary=${boundary}`,
  };
}
