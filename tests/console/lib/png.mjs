// PNG in and out with Node's zlib alone (8-bit RGB/RGBA, not interlaced: what chromium
// writes), and the pixel comparison of a screenshot against its baseline.

import { crc32, deflateSync, inflateSync } from 'node:zlib';

const SIGNATURE = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]);

/** {width, height, data: RGBA bytes}. */
export function decode(buf) {
  if (!buf.subarray(0, 8).equals(SIGNATURE)) throw new Error('not a PNG');
  let pos = 8;
  let width = 0, height = 0, channels = 0;
  const idat = [];
  while (pos < buf.length) {
    const len = buf.readUInt32BE(pos);
    const type = buf.toString('latin1', pos + 4, pos + 8);
    const body = buf.subarray(pos + 8, pos + 8 + len);
    if (type === 'IHDR') {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      const [depth, color, , , interlace] = body.subarray(8, 13);
      channels = { 2: 3, 6: 4 }[color];
      if (depth !== 8 || !channels || interlace) throw new Error(`PNG kind not handled: depth ${depth}, colour type ${color}, interlace ${interlace}`);
    } else if (type === 'IDAT') idat.push(body);
    else if (type === 'IEND') break;
    pos += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const out = Buffer.alloc(width * height * 4);
  // Unfiltered in place in `raw` (each line after its filter byte), one filter per line.
  const bpp = channels;
  for (let y = 0; y < height; y++) {
    const at = y * (stride + 1) + 1;
    const up = at - stride - 1; // the line above (unfiltered already); none for y = 0
    const f = raw[at - 1];
    if (f === 1) for (let i = bpp; i < stride; i++) raw[at + i] = (raw[at + i] + raw[at + i - bpp]) & 255;
    else if (f === 2 && y > 0) for (let i = 0; i < stride; i++) raw[at + i] = (raw[at + i] + raw[up + i]) & 255;
    else if (f === 3) {
      for (let i = 0; i < stride; i++) {
        const a = i >= bpp ? raw[at + i - bpp] : 0, b = y > 0 ? raw[up + i] : 0;
        raw[at + i] = (raw[at + i] + ((a + b) >> 1)) & 255;
      }
    } else if (f === 4) {
      for (let i = 0; i < stride; i++) {
        const a = i >= bpp ? raw[at + i - bpp] : 0, b = y > 0 ? raw[up + i] : 0, c = i >= bpp && y > 0 ? raw[up + i - bpp] : 0;
        const q = a + b - c, pa = Math.abs(q - a), pb = Math.abs(q - b), pc = Math.abs(q - c);
        raw[at + i] = (raw[at + i] + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c)) & 255;
      }
    } else if (f > 4) throw new Error(`bad PNG filter ${f} at row ${y}`);
    for (let x = 0, o = y * width * 4; x < width; x++, o += 4) {
      const i = at + x * bpp;
      out[o] = raw[i];
      out[o + 1] = raw[i + 1];
      out[o + 2] = raw[i + 2];
      out[o + 3] = bpp === 4 ? raw[i + 3] : 255;
    }
  }
  return { width, height, data: out };
}

function chunk(type, body) {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(body.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), body])) >>> 0, 0);
  return Buffer.concat([head, body, crc]);
}

/** RGB PNG (alpha dropped: screenshots are opaque), rows Paeth- or Up-filtered, zlib level 9:
 * smaller than chromium's own files. */
export function encode({ width, height, data }) {
  const stride = width * 3;
  const raw = Buffer.alloc(height * (stride + 1));
  let prev = Buffer.alloc(stride);
  for (let y = 0; y < height; y++) {
    const line = Buffer.alloc(stride);
    for (let x = 0; x < width; x++) data.copy(line, x * 3, (y * width + x) * 4, (y * width + x) * 4 + 3);
    raw[y * (stride + 1)] = 2; // Up: the line minus the one above
    for (let i = 0; i < stride; i++) raw[y * (stride + 1) + 1 + i] = (line[i] - prev[i]) & 255;
    prev = line;
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  return Buffer.concat([SIGNATURE, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw, { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
}

/** How far `actual` is from `base`: pixels whose colour moved more than `threshold` in any
 * channel, as a fraction of all; a size change is reported as such. `diff` (when the sizes
 * match) shows the moved pixels in red over a faded copy of the page. */
export function compare(base, actual, threshold = 48) {
  if (base.width !== actual.width || base.height !== actual.height) {
    return { sameSize: false, ratio: 1, differing: null, size: `${actual.width}x${actual.height}, baseline ${base.width}x${base.height}` };
  }
  const n = base.width * base.height;
  const diff = Buffer.alloc(n * 4);
  let differing = 0;
  for (let i = 0; i < n * 4; i += 4) {
    const moved = Math.max(Math.abs(base.data[i] - actual.data[i]), Math.abs(base.data[i + 1] - actual.data[i + 1]), Math.abs(base.data[i + 2] - actual.data[i + 2])) > threshold;
    if (moved) differing++;
    const grey = 200 + (actual.data[i] >> 4);
    diff[i] = moved ? 255 : grey;
    diff[i + 1] = moved ? 0 : grey;
    diff[i + 2] = moved ? 0 : grey;
    diff[i + 3] = 255;
  }
  return { sameSize: true, ratio: differing / n, differing, diff: { width: base.width, height: base.height, data: diff } };
}
