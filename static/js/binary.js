// LLB1, the server's compact binary answers (docs/API.md, "Binary results (LLB1)"): the blob
// decoder, and the record reader of the /stream routes that offer it. maps.js asks for it on
// the map routes; a JSON or SSE answer stays the fallback there.
//
// A blob: "LLB1", a uint32 (little-endian) header length H, H bytes of JSON header padded
// with spaces to a multiple of 8, then the arrays, each at a multiple of 8 from byte 0. The
// header is the JSON answer with each numeric grid replaced by
// {"$array": {"dtype", "shape", "offset"}}. A stream: records of one kind byte, a uint32
// payload length and the payload: "p" progress JSON, "d" the answer's blob, "e" error JSON.

import { t } from "./i18n.js";

export const BINARY = "application/x-losslab-binary";
export const STREAM = "application/x-losslab-stream";

export const KIND = { progress: 0x70, done: 0x64, error: 0x65 };

const MAGIC = [0x4c, 0x4c, 0x42, 0x31]; // "LLB1"
const TYPES = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  int8: Int8Array,
};
const GETTERS = {
  float32: "getFloat32",
  float64: "getFloat64",
  int32: "getInt32",
  int8: "getInt8",
};
/** Typed arrays read in the platform's byte order, which is little-endian nearly always. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const utf8 = new TextDecoder();

/** UTF-8 JSON bytes (a record's payload) as a value. */
export function parseJSON(bytes) {
  return JSON.parse(utf8.decode(bytes));
}

/**
 * The answer in an LLB1 blob (an ArrayBuffer or a Uint8Array): its header, with each array
 * reference replaced by a typed array, or for a grid of shape [rows, cols] by an Array of
 * rows, each a subarray view of one typed array (no copies). Null cells stay as the blob
 * holds them (NaN, or -1 in int arrays): withNulls() turns them back where that matters.
 */
export function decodeBlob(blob) {
  let bytes = blob instanceof Uint8Array ? blob : new Uint8Array(blob);
  // A typed array must start at a multiple of its element size within its buffer; the
  // offsets in a blob are aligned from the blob's start, so the blob must start aligned.
  if (bytes.byteOffset % 8 !== 0) bytes = bytes.slice();
  if (bytes.length < 8 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new Error(t("not an LLB1 blob"));
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const size = view.getUint32(4, true);
  if (8 + size > bytes.length) throw new Error(t("LLB1 header runs past the blob"));
  const header = parseJSON(bytes.subarray(8, 8 + size));
  return resolve(header, bytes, view);
}

function resolve(value, bytes, view) {
  if (Array.isArray(value)) return value.map((item) => resolve(item, bytes, view));
  if (value === null || typeof value !== "object") return value;
  if (value.$array) return array(value.$array, bytes, view);
  const out = {};
  for (const [key, item] of Object.entries(value)) out[key] = resolve(item, bytes, view);
  return out;
}

function array({ dtype, shape, offset }, bytes, view) {
  const Type = TYPES[dtype];
  if (!Type) throw new Error(t("LLB1: unknown dtype {dtype}", { dtype }));
  const count = shape.reduce((a, b) => a * b, 1);
  const end = offset + count * Type.BYTES_PER_ELEMENT;
  if (!(offset >= 0 && offset % 8 === 0 && end <= bytes.length)) {
    throw new Error(t("LLB1: an array lies outside the blob"));
  }
  let flat;
  if (LITTLE_ENDIAN) {
    flat = new Type(bytes.buffer, bytes.byteOffset + offset, count);
  } else {
    flat = new Type(count);
    const get = GETTERS[dtype];
    for (let k = 0; k < count; k += 1) {
      flat[k] = view[get](offset + k * Type.BYTES_PER_ELEMENT, true);
    }
  }
  return shaped(flat, shape);
}

/** A flat typed array as nested Arrays of subarray views, the innermost axis a view. */
function shaped(flat, shape) {
  if (shape.length <= 1) return flat;
  const [n, ...rest] = shape;
  const stride = rest.reduce((a, b) => a * b, 1);
  return Array.from({ length: n }, (_, i) =>
    shaped(flat.subarray(i * stride, (i + 1) * stride), rest),
  );
}

/**
 * Rows (as decodeBlob gives them) with the cells for which `isNull` holds as null, like
 * the JSON answer. Rows without such a cell stay views; the others become plain Arrays.
 */
export function withNulls(rows, isNull) {
  return rows.map((row) =>
    row.some(isNull) ? Array.from(row, (v) => (isNull(v) ? null : v)) : row,
  );
}

/**
 * Splits the bytes of an LLB1 stream, in chunks cut anywhere, into records. Each payload is
 * a fresh Uint8Array (its own buffer, so decodeBlob needs no copy).
 */
export class RecordReader {
  constructor() {
    this.chunks = [];
    this.size = 0;
    this.head = null;
  }

  /** Add a chunk; returns the records it completed, in order: [{kind, payload}]. */
  push(chunk) {
    this.chunks.push(chunk);
    this.size += chunk.length;
    const records = [];
    for (;;) {
      if (!this.head) {
        if (this.size < 5) break;
        const head = this.take(5);
        this.head = { kind: head[0], length: new DataView(head.buffer).getUint32(1, true) };
      }
      if (this.size < this.head.length) break;
      records.push({ kind: this.head.kind, payload: this.take(this.head.length) });
      this.head = null;
    }
    return records;
  }

  /** Bytes of a record not yet complete (a stream that ends here was cut short). */
  get pending() {
    return this.head !== null || this.size > 0;
  }

  take(n) {
    const out = new Uint8Array(n);
    let at = 0;
    while (at < n) {
      const chunk = this.chunks[0];
      const part = Math.min(n - at, chunk.length);
      out.set(chunk.subarray(0, part), at);
      at += part;
      if (part === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(part);
    }
    this.size -= n;
    return out;
  }
}

/** The records of an LLB1 stream from a ReadableStream reader, as they complete. */
export async function* readRecords(reader) {
  const records = new RecordReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    yield* records.push(value);
  }
  if (records.pending) throw new Error(t("the stream ended in the middle of a record"));
}
