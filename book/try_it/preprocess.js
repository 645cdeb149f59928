// preprocess.js: what the book's library does to a photograph before the network sees it
// (alexnet_lib.pretrained.BookNetwork.patch and .preprocess), written again for the browser.
//
// BookNetwork.patch is torchvision's Resize(scale) (the shorter side to `scale` pixels, bilinear
// with antialiasing, on uint8 pixels), CenterCrop(scale) and CenterCrop(size). The resize below
// follows PyTorch's code for uint8 images (which follows Pillow's): the weights are computed in
// double precision and turned into 16-bit integers, a horizontal pass is rounded to bytes, then
// a vertical pass. So the patch is PyTorch's, byte for byte, wherever the browser decodes the
// photograph as torchvision does (both use libjpeg-turbo). Only the patch's own pixels are
// computed: the rest of the resized photograph is never needed.
//
// Every number (scale 146, size 128, the mean and standard deviation...) comes from the page's
// configuration, which the book's build writes from the library: none is typed here.

/** The kind of image a file's first bytes announce: "jpeg", "png", or null for anything else. */
export function sniff(bytes) {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return "jpeg";
  const png = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length >= 8 && png.every((b, i) => bytes[i] === b)) return "png";
  return null;
}

/** Width and height from a JPEG's or a PNG's header (before any decoding), or null if not found. */
export function headerSize(bytes, kind) {
  if (kind === "png") {
    if (bytes.length < 24) return null;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    return { width: view.getUint32(16), height: view.getUint32(20) };
  }
  // A JPEG is a chain of markers (0xFF, type, 2-byte length); a start-of-frame marker
  // (0xC0 to 0xCF, except 0xC4, 0xC8 and 0xCC) holds the height and the width.
  let i = 2;
  while (i + 9 < bytes.length) {
    if (bytes[i] !== 0xff) return null;
    const type = bytes[i + 1];
    if (type === 0xff) { i += 1; continue; } // fill byte
    const length = (bytes[i + 2] << 8) | bytes[i + 3];
    if (type >= 0xc0 && type <= 0xcf && type !== 0xc4 && type !== 0xc8 && type !== 0xcc) {
      return { height: (bytes[i + 5] << 8) | bytes[i + 6], width: (bytes[i + 7] << 8) | bytes[i + 8] };
    }
    i += 2 + length;
  }
  return null;
}

/** Python's round(): halves go to the even neighbour (torchvision's centre crop rounds so). */
export function roundHalfEven(x) {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Where the patch lies: the resized photograph's width `rw` and height `rh` (torchvision's
 *  Resize(scale): the shorter side to `scale`, the longer in proportion, rounded down) and the
 *  patch's top-left corner in it (the central square's central `size x size`). */
export function patchGeometry(width, height, scale, size) {
  const short = Math.min(width, height), long = Math.max(width, height);
  const newLong = Math.trunc((scale * long) / short);
  const [rw, rh] = width <= height ? [scale, newLong] : [newLong, scale];
  const inner = roundHalfEven((scale - size) / 2);
  return { rw, rh, left: roundHalfEven((rw - scale) / 2) + inner, top: roundHalfEven((rh - scale) / 2) + inner };
}

// The bilinear ("triangle") filter.
const triangle = (x) => (Math.abs(x) < 1 ? 1 - Math.abs(x) : 0);

/** PyTorch's antialiased bilinear weights from `inSize` to `outSize` pixels along one axis, as
 *  16-bit integers with `precision` fractional bits (aten's _compute_index_ranges_int16_weights):
 *  output i reads inputs start[i] .. start[i] + taps[i] - 1 with weights[i * maxTaps + j]. */
export function axisWeights(inSize, outSize) {
  const scale = inSize / outSize;
  const support = scale >= 1 ? scale : 1; // the filter reaches 1 pixel, widened when shrinking
  const invscale = scale >= 1 ? 1 / scale : 1;
  const maxTaps = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize), taps = new Int32Array(outSize);
  const real = new Float64Array(outSize * maxTaps);
  let largest = 0;
  for (let i = 0; i < outSize; i++) {
    const centre = scale * (i + 0.5);
    const first = Math.max(Math.trunc(centre - support + 0.5), 0);
    const n = Math.min(Math.max(Math.min(Math.trunc(centre + support + 0.5), inSize) - first, 0), maxTaps);
    let total = 0;
    for (let j = 0; j < n; j++) total += real[i * maxTaps + j] = triangle((j + first - centre + 0.5) * invscale);
    if (total !== 0) {
      for (let j = 0; j < n; j++) largest = Math.max(largest, real[i * maxTaps + j] /= total);
    }
    start[i] = first;
    taps[i] = n;
  }
  // As many fractional bits as keep twice the largest weight below 2^15 (at most 22).
  let precision = 0;
  while (precision < 22 && Math.trunc(0.5 + largest * 2 ** (precision + 1)) < 2 ** 15) precision++;
  const weights = new Int32Array(real.length);
  real.forEach((w, k) => {
    const v = w * 2 ** precision;
    weights[k] = v < 0 ? Math.trunc(v - 0.5) : Math.trunc(v + 0.5); // rounded half away from zero, as in C
  });
  return { start, taps, weights, maxTaps, precision };
}

// One output byte: the weighted sum rounded (half of the last unit added before the shift), clamped.
const toByte = (sum, precision) => Math.min(255, Math.max(0, Math.floor(sum / 2 ** precision)));

/** The patch the network sees: `size x size x 3` bytes (rows of RGB pixels), from a photograph of
 *  `width x height` pixels whose RGBA bytes `read(x, y, w, h)` returns (it may be async). Large
 *  photographs are read in bands of rows, so that the page never holds all their pixels at once;
 *  `progress(fraction)` is called after each band. */
export async function cutPatch(read, width, height, scale, size, progress = () => {}) {
  const g = patchGeometry(width, height, scale, size);
  const across = axisWeights(width, g.rw), down = axisWeights(height, g.rh);
  // The source columns and rows that the patch's pixels read.
  const span = (w, from) => {
    let lo = Infinity, hi = 0;
    for (let i = from; i < from + size; i++) {
      lo = Math.min(lo, w.start[i]);
      hi = Math.max(hi, w.start[i] + w.taps[i]);
    }
    return [lo, hi];
  };
  const [x0, x1] = span(across, g.left), [y0, y1] = span(down, g.top);
  // Horizontal pass: each source row y0 .. y1 - 1 becomes `size` pixels, rounded to bytes.
  const rows = new Uint8Array((y1 - y0) * size * 3);
  const half = (p) => 2 ** (p - 1);
  const band = Math.max(1, Math.floor(4_000_000 / (x1 - x0))); // about 16 MB of RGBA at a time
  for (let y = y0; y < y1; y += band) {
    const h = Math.min(band, y1 - y);
    const rgba = await read(x0, y, x1 - x0, h);
    for (let r = 0; r < h; r++) {
      const line = r * (x1 - x0) * 4, out = (y - y0 + r) * size * 3;
      for (let o = 0; o < size; o++) {
        const i = g.left + o, k = i * across.maxTaps;
        let red = half(across.precision), green = red, blue = red;
        for (let j = 0; j < across.taps[i]; j++) {
          const w = across.weights[k + j], p = line + (across.start[i] + j - x0) * 4;
          red += w * rgba[p]; green += w * rgba[p + 1]; blue += w * rgba[p + 2];
        }
        rows[out + o * 3] = toByte(red, across.precision);
        rows[out + o * 3 + 1] = toByte(green, across.precision);
        rows[out + o * 3 + 2] = toByte(blue, across.precision);
      }
    }
    progress((y + h - y0) / (y1 - y0));
  }
  // Vertical pass: each patch row from the rows above.
  const patch = new Uint8Array(size * size * 3);
  for (let o = 0; o < size; o++) {
    const i = g.top + o, k = i * down.maxTaps;
    for (let c = 0; c < size * 3; c++) {
      let sum = half(down.precision);
      for (let j = 0; j < down.taps[i]; j++) sum += down.weights[k + j] * rows[(down.start[i] + j - y0) * size * 3 + c];
      patch[o * size * 3 + c] = toByte(sum, down.precision);
    }
  }
  return { patch, geometry: g };
}

/** The network's input from a patch: channels first, each value /255, less the channel's mean,
 *  divided by its standard deviation, in float32 as PyTorch computes it. */
export function normalise(patch, size, mean, std) {
  const input = new Float32Array(3 * size * size), f = Math.fround;
  for (let c = 0; c < 3; c++) {
    const m = f(mean[c]), s = f(std[c]);
    for (let p = 0; p < size * size; p++) input[c * size * size + p] = f(f(f(patch[p * 3 + c] / 255) - m) / s);
  }
  return input;
}

/** Probabilities from scores (softmax, computed stably). */
export function softmax(logits) {
  const top = Math.max(...logits);
  const e = Array.from(logits, (v) => Math.exp(v - top));
  const total = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / total);
}

/** The inputs of an occlusion map (alexnet_lib.viz.occlusion_map): the input with a `square x
 *  square` patch set to `fill` (0: the mean colour after normalisation), one copy for each
 *  position of the square, `stride` apart, row by row. Returns the positions' grid size and a
 *  function that writes the copies for positions first .. first + count - 1 into one batch. */
export function occlusionBatches(input, size, square, stride, fill) {
  const steps = Math.floor((size - square) / stride) + 1; // as range(0, size - square + 1, stride)
  const plane = size * size;
  function batch(first, count) {
    const out = new Float32Array(count * 3 * plane);
    for (let b = 0; b < count; b++) {
      const [row, col] = [Math.floor((first + b) / steps), (first + b) % steps];
      const copy = out.subarray(b * 3 * plane, (b + 1) * 3 * plane);
      copy.set(input);
      for (let c = 0; c < 3; c++) {
        for (let y = row * stride; y < row * stride + square; y++) {
          const from = c * plane + y * size + col * stride;
          copy.fill(fill, from, from + square);
        }
      }
    }
    return out;
  }
  return { rows: steps, columns: steps, batch };
}
