// GBK, the encoding of Alipay's bill files. Decoding is the platform's (ICU's TextDecoder); node
// cannot encode GBK, so the encoder's table is built once from the decoder, over every
// two-byte code.
const decoder = new TextDecoder('gbk');

export function decodeGbk(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

let table: Map<string, number> | undefined;

function encodingTable(): Map<string, number> {
  if (table) return table;
  table = new Map();
  const pair = new Uint8Array(2);
  for (let lead = 0x81; lead <= 0xfe; lead++) {
    for (let trail = 0x40; trail <= 0xfe; trail++) {
      if (trail === 0x7f) continue;
      pair[0] = lead;
      pair[1] = trail;
      const char = decoder.decode(pair);
      if (char.length === 1 && char !== '\ufffd' && !table.has(char)) {
        table.set(char, (lead << 8) | trail);
      }
    }
  }
  return table;
}

/** Encodes text as GBK; a character GBK lacks becomes "?". */
export function encodeGbk(text: string): Buffer {
  const bytes: number[] = [];
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (code < 0x80) {
      bytes.push(code);
      continue;
    }
    const gbk = encodingTable().get(char);
    if (gbk === undefined) bytes.push(0x3f);
    else bytes.push(gbk >> 8, gbk & 0xff);
  }
  return Buffer.from(bytes);
}
