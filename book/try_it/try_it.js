// try_it.js: the page "Try it: AlexNet on your photograph" (book/try_it.md).
//
// The book's network runs here, in the reader's browser, with ONNX Runtime Web (WebAssembly, one
// thread); no Python, and no request leaves the site. The build (book/_ext/try_it.py) writes the
// page's configuration from the library (sizes, mean and standard deviation, class names, the
// occlusion square) into a <script type="application/json"> element, exports the network to ONNX
// and copies ONNX Runtime beside this file. In order, this module:
//   1. downloads ONNX Runtime and the network (gzipped; the browser inflates them) and starts a session;
//   2. takes a photograph (dropped, chosen, or a sample), cuts the patch the network sees
//      (preprocess.js) and shows the five best guesses, conv1's 96 feature maps and kernels;
//   3. on request, computes an occlusion map for the best guess and draws it over the patch.
// `window.tryIt` exposes the same steps to the book's browser tests and benchmark.

import { cutPatch, headerSize, normalise, occlusionBatches, sniff, softmax } from "./preprocess.js";

const root = document.querySelector('[data-testid="try-it"]');
const config = JSON.parse(document.getElementById("try-it-config").textContent);
const assets = new URL(root.dataset.assets, document.baseURI);
const part = (role) => root.querySelector(`[data-role="${role}"]`);
const SIZE = config.image_size;
const MAX_PIXELS = 150e6; // larger photographs are refused with a message (decoding them takes GBs)
const OCCLUSION_BATCH = 13; // inputs per run of the network while computing an occlusion map
const marks = {}; // when (ms after navigation) each file arrived and the network started: for the benchmark

// --- small helpers -----------------------------------------------------------------------------

/** A problem the reader should read (shown as it is, not as a stack trace). */
class Problem extends Error {}

function say(text, kind = "info") {
  const status = part("status");
  status.textContent = text;
  status.dataset.kind = kind;
}

function setState(state) {
  root.dataset.state = state;
}

function showProgress(element, fraction) {
  element.hidden = fraction === null;
  if (fraction !== null) element.value = fraction;
}

const megabytes = (bytes) => (bytes / 1e6).toFixed(1);
const nextFrame = () => new Promise((resolve) => setTimeout(resolve, 0)); // lets the page repaint

/** Colours from the configuration's 256-entry table (hex RGB), for a value in [0, 1]. */
function colourTable(hex) {
  const table = new Uint8Array(hex.length / 2);
  for (let i = 0; i < table.length; i++) table[i] = parseInt(hex.substr(2 * i, 2), 16);
  return (v) => {
    const i = 3 * Math.min(255, Math.max(0, Math.round(v * 255)));
    return [table[i], table[i + 1], table[i + 2]];
  };
}
const mapColour = colourTable(config.colours.maps);
const heatColour = colourTable(config.colours.occlusion);

/** Draw a `width x height` picture into `canvas`: pixel p's [red, green, blue] is `pixel(p)`. */
function paint(canvas, width, height, pixel) {
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext("2d");
  const image = context.createImageData(width, height);
  for (let p = 0; p < width * height; p++) {
    image.data.set(pixel(p), 4 * p);
    image.data[4 * p + 3] = 255;
  }
  context.putImageData(image, 0, 0);
}

// --- 1. ONNX Runtime and the network -----------------------------------------------------------

/** A file of the site as bytes, counting what arrives into `progress`. Gzipped files (the model
 *  and ONNX Runtime's WebAssembly) are inflated by the browser's DecompressionStream as they arrive. */
async function download(url, progress) {
  const early = window.tryItDownloads?.[url]; // the page's template started the big ones early
  const response = (early && (await early)) || (await fetch(url));
  if (!response.ok) throw new Problem(`${url} could not be loaded (HTTP ${response.status}).`);
  const reader = response.body.getReader();
  const first = await reader.read(); // its first two bytes say whether the file is gzipped
  const gzipped = !first.done && first.value[0] === 0x1f && first.value[1] === 0x8b; // (a server may inflate it)
  const counted = new ReadableStream({
    start(controller) {
      if (!first.done) { progress(first.value.length); controller.enqueue(first.value); }
    },
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) controller.close();
      else { progress(value.length); controller.enqueue(value); }
    },
  });
  const bytes = gzipped ? counted.pipeThrough(new DecompressionStream("gzip")) : counted;
  const data = new Uint8Array(await new Response(bytes).arrayBuffer());
  marks[url.split("/").pop()] = performance.now(); // arrived and inflated
  return data;
}

function loadScript(url) {
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = url;
    script.onload = resolve;
    script.onerror = () => reject(new Problem(`${url} could not be loaded.`));
    document.head.appendChild(script);
  });
}

async function startNetwork() {
  const files = config.files;
  const total = files.runtime.bytes + files.model.bytes + files.kernels.bytes;
  let arrived = 0;
  const bar = part("progress");
  say(`Loading the network and ONNX Runtime (${megabytes(total)} MB)…`);
  const counted = (n) => { // the bar moves; the status line (read out by screen readers) stays
    arrived += n;
    showProgress(bar, arrived / total);
    bar.setAttribute("aria-valuetext", `${megabytes(arrived)} of ${megabytes(total)} MB`);
  };
  const url = (name) => new URL(name, assets).href;
  const [, wasm, model, kernels] = await Promise.all([
    loadScript(url(files.script.name)),
    download(url(files.runtime.name), counted),
    download(url(files.model.name), counted),
    download(url(files.kernels.name), counted),
  ]);
  marks.downloaded = performance.now();
  showProgress(part("progress"), null);
  say("Starting the network…");
  const ort = window.ort;
  ort.env.wasm.numThreads = 1; // threads need cross-origin isolation, which static sites rarely have
  ort.env.wasm.proxy = false;
  ort.env.wasm.wasmPaths = new URL(".", url(files.script.name)).href;
  ort.env.wasm.wasmBinary = wasm.buffer;
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ["wasm"],
    graphOptimizationLevel: "all",
    extra: config.session_config, // fold the 8-bit weights into float32 once, not at every run
  });
  marks.started = performance.now();
  return { ort, session, kernels };
}

let queue = Promise.resolve(); // one run of the session at a time

/** Run the network on a batch of inputs (N x 3 x SIZE x SIZE), fetching only `outputs`. */
function run(net, input, count, outputs) {
  const tensor = new net.ort.Tensor("float32", input, [count, 3, SIZE, SIZE]);
  const result = queue.then(() => net.session.run({ [config.input]: tensor }, outputs));
  queue = result.catch(() => {});
  return result;
}

// --- 2. a photograph: its patch, the five best guesses, conv1 ----------------------------------

/** The decoded photograph's RGBA bytes, a band of rows at a time (cutPatch asks for them). */
function bandReader(bitmap) {
  const canvas = document.createElement("canvas");
  const context = canvas.getContext("2d", { willReadFrequently: true });
  return async (x, y, width, height) => {
    canvas.width = width;
    canvas.height = height;
    context.drawImage(bitmap, x, y, width, height, 0, 0, width, height); // a copy, pixel for pixel
    const data = context.getImageData(0, 0, width, height).data;
    await nextFrame();
    return data;
  };
}

async function decode(file, name) {
  const head = new Uint8Array(await file.slice(0, 262144).arrayBuffer());
  const kind = sniff(head);
  if (!kind) {
    throw new Problem(`"${name}" is not a JPEG or PNG image, so the network cannot look at it. ` +
      "Choose a photograph saved as .jpg or .png.");
  }
  const size = headerSize(head, kind);
  if (size && size.width * size.height > MAX_PIXELS) {
    const megapixels = Math.round((size.width * size.height) / 1e6);
    throw new Problem(`"${name}" has ${size.width} x ${size.height} pixels (${megapixels} megapixels), more than ` +
      `this page decodes (${MAX_PIXELS / 1e6} megapixels). Make it smaller and try again.`);
  }
  if (size && size.width * size.height > 20e6) {
    say(`Decoding a ${Math.round(size.width * size.height / 1e6)}-megapixel photograph: a few seconds…`);
  }
  try {
    // Upright as the camera recorded it (EXIF), and the pixels as stored (no colour profile).
    return await createImageBitmap(file, { imageOrientation: "from-image", colorSpaceConversion: "none",
                                           premultiplyAlpha: "none" });
  } catch (error) {
    throw new Problem(`"${name}" could not be decoded: the file may be damaged or cut short.`);
  }
}

function drawPhotograph(bitmap, geometry) {
  const canvas = part("photo");
  const scale = Math.min(1, 360 / Math.max(bitmap.width, bitmap.height));
  canvas.width = Math.max(1, Math.round(bitmap.width * scale));
  canvas.height = Math.max(1, Math.round(bitmap.height * scale));
  const context = canvas.getContext("2d");
  context.imageSmoothingQuality = "high";
  context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  // The patch, in the photograph's pixels: the resized photograph is `rw` pixels wide.
  const k = (bitmap.width / geometry.rw) * scale;
  context.strokeStyle = "#ffd400";
  context.lineWidth = 2;
  context.strokeRect(geometry.left * k, geometry.top * k, SIZE * k, SIZE * k);
}

function drawPatch(patch) {
  paint(part("patch"), SIZE, SIZE, (p) => [patch[3 * p], patch[3 * p + 1], patch[3 * p + 2]]);
  clearOcclusion();
}

function showGuesses(probabilities) {
  const order = [...probabilities.keys()].sort((a, b) => probabilities[b] - probabilities[a]).slice(0, 5);
  const list = part("guesses");
  list.replaceChildren(...order.map((c) => {
    const item = document.createElement("li");
    item.dataset.class = config.classes[c];
    item.dataset.probability = probabilities[c];
    const label = document.createElement("span");
    label.className = "try-it-label";
    label.textContent = config.classes[c];
    const track = document.createElement("span"), bar = document.createElement("span");
    track.className = "try-it-track";
    bar.className = "try-it-bar";
    bar.style.width = `${(100 * probabilities[c]).toFixed(1)}%`;
    track.append(bar);
    const value = document.createElement("span");
    value.className = "try-it-value";
    value.textContent = `${(100 * probabilities[c]).toFixed(1)}%`;
    item.append(label, track, value);
    return item;
  }));
  return order;
}

let selected = 0; // the feature map shown large, with its kernel
let stretchedMaps = null; // the current photograph's maps, each stretched to [0, 1]

function showMaps(maps) {
  const n = config.map_channels, side = config.map_size, plane = side * side;
  const grid = part("maps");
  if (grid.children.length !== n) {
    grid.replaceChildren(...Array.from({ length: n }, (_, c) => {
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.channel = c;
      button.tabIndex = c === selected ? 0 : -1;
      button.setAttribute("aria-label", `feature map ${c + 1} of ${n}`);
      const canvas = document.createElement("canvas");
      canvas.setAttribute("role", "img");
      canvas.setAttribute("aria-label", `conv1 feature map ${c + 1}`);
      button.append(canvas);
      button.addEventListener("mouseenter", () => select(c));
      button.addEventListener("focus", () => select(c));
      button.addEventListener("click", () => select(c));
      return button;
    }));
  }
  // Each map stretched from its own minimum to its maximum, as Chapter 9's explorer shows them.
  const stretched = (stretchedMaps = []);
  for (let c = 0; c < n; c++) {
    const values = maps.subarray(c * plane, (c + 1) * plane);
    let lo = Infinity, hi = -Infinity;
    for (const v of values) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    stretched.push(Array.from(values, (v) => (hi > lo ? (v - lo) / (hi - lo) : 0)));
    paint(grid.children[c].firstChild, side, side, (p) => mapColour(stretched[c][p]));
  }
  select(selected);
}

function showKernels(kernels) {
  const n = config.map_channels, k = config.kernel_size;
  part("kernels").replaceChildren(...Array.from({ length: n }, (_, c) => {
    const canvas = document.createElement("canvas");
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", `conv1 kernel ${c + 1}`);
    canvas.dataset.channel = c;
    const bytes = kernels.subarray(c * k * k * 3, (c + 1) * k * k * 3);
    paint(canvas, k, k, (p) => [bytes[3 * p], bytes[3 * p + 1], bytes[3 * p + 2]]);
    return canvas;
  }));
}

/** Show feature map `c` large beside its kernel, and mark both in their grids. */
function select(c) {
  selected = c;
  const side = config.map_size, k = config.kernel_size, tower = c < config.map_channels / 2 ? 1 : 2;
  if (stretchedMaps) paint(part("map-large"), side, side, (p) => mapColour(stretchedMaps[c][p]));
  const kernel = part("kernels").children[c];
  if (kernel) {
    const large = part("kernel-large");
    large.width = large.height = k;
    large.getContext("2d").drawImage(kernel, 0, 0);
  }
  for (const button of part("maps").children) {
    const on = Number(button.dataset.channel) === c;
    button.classList.toggle("try-it-selected", on);
    button.tabIndex = on ? 0 : -1;
  }
  for (const canvas of part("kernels").children) {
    canvas.classList.toggle("try-it-selected", Number(canvas.dataset.channel) === c);
  }
  part("map-caption").textContent =
    `Feature map ${c + 1} of ${config.map_channels} (tower ${tower}) and the kernel that made it`;
  root.dataset.channel = c;
}

// Arrow keys move between the maps (one tab stop for the whole grid).
function onMapKeys(event) {
  const n = config.map_channels, columns = 12;
  const step = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: columns, ArrowUp: -columns }[event.key];
  if (step === undefined) return;
  event.preventDefault();
  const next = Math.min(n - 1, Math.max(0, selected + step));
  part("maps").children[next].focus();
}

let network = null; // the promise of { ort, session, kernels }
let latest = 0; // the newest photograph's number: an older one still being read gives way to it
let current = null; // what the page shows now

async function classify(file, name) {
  const number = ++latest;
  setState("busy");
  part("occlusion-button").disabled = true;
  say(`Reading "${name}"…`);
  try {
    const started = performance.now();
    const bitmap = await decode(file, name);
    const { patch, geometry } = await cutPatch(bandReader(bitmap), bitmap.width, bitmap.height, config.scale, SIZE);
    if (number !== latest) return null;
    const { width, height } = bitmap;
    drawPhotograph(bitmap, geometry);
    bitmap.close();
    drawPatch(patch);
    const input = normalise(patch, SIZE, config.mean, config.std);
    if (!network) {
      throw new Problem("The network could not be loaded, so this page cannot classify photographs: " +
        "reload it to try again.");
    }
    say("Waiting for the network to load…");
    const net = await network;
    const t0 = performance.now();
    const out = await run(net, input, 1, [config.logits, config.maps]);
    const runMs = performance.now() - t0;
    if (number !== latest) return null;
    const logits = out[config.logits].data, maps = out[config.maps].data;
    const probabilities = softmax(logits);
    const order = showGuesses(probabilities);
    showMaps(maps);
    part("result").hidden = false;
    part("maps-section").hidden = false;
    part("occlusion-section").hidden = false;
    part("occlusion-button").disabled = false;
    part("occlusion-button").textContent = `Which part of the patch does "${config.classes[order[0]]}" depend on?`;
    current = { name, width, height, geometry, patch, input, logits: Array.from(logits), probabilities,
                top: order.map((c) => ({ index: c, name: config.classes[c], probability: probabilities[c] })),
                maps, runMs, totalMs: performance.now() - started, finishedAt: performance.now(), occlusion: null };
    say(`"${name}": ${width} x ${height} pixels. Best guess: ${config.classes[order[0]]} ` +
        `(${(100 * probabilities[order[0]]).toFixed(1)}%), in ${runMs.toFixed(0)} ms.`);
    setState("done");
    return current;
  } catch (error) {
    if (number === latest) {
      say(error instanceof Problem ? error.message : `Something went wrong: ${error.message || error}`, "error");
      setState("error");
    }
    if (!(error instanceof Problem)) console.warn(error);
    return null;
  }
}

// --- 3. occlusion ------------------------------------------------------------------------------

function clearOcclusion() {
  const overlay = part("occlusion");
  overlay.getContext("2d").clearRect(0, 0, overlay.width, overlay.height);
  part("occlusion-summary").textContent = "";
  part("occlusion-legend").hidden = true;
}

/** The probability of the best guess with a grey square over each position of the patch
 *  (alexnet_lib.viz.occlusion_map with Chapter 9's square and stride), drawn over the patch. */
async function occlude() {
  if (!current) return null;
  const shown = current, number = latest, net = await network;
  const { size: square, stride, fill } = config.occlusion;
  const target = shown.top[0].index;
  const { rows, columns, batch } = occlusionBatches(shown.input, SIZE, square, stride, fill);
  const total = rows * columns, heat = new Float32Array(total);
  setState("occluding");
  part("occlusion-button").disabled = true;
  say(`Occlusion map: running the network ${total} times, with the grey square in each place…`);
  const bar = part("occlusion-progress");
  const t0 = performance.now();
  for (let first = 0; first < total; first += OCCLUSION_BATCH) {
    const count = Math.min(OCCLUSION_BATCH, total - first);
    const out = await run(net, batch(first, count), count, [config.logits]);
    const logits = out[config.logits].data, k = config.classes.length;
    for (let b = 0; b < count; b++) heat[first + b] = softmax(logits.subarray(b * k, (b + 1) * k))[target];
    showProgress(bar, (first + count) / total);
    await nextFrame();
    if (latest !== number) { // another photograph came in meanwhile: it has the page now
      showProgress(bar, null);
      return null;
    }
  }
  const ms = performance.now() - t0;
  showProgress(bar, null);
  drawOcclusion(heat, rows, columns, square, stride);
  let lowest = 0;
  heat.forEach((v, i) => { if (v < heat[lowest]) lowest = i; });
  const [row, col] = [Math.floor(lowest / columns), lowest % columns];
  part("occlusion-summary").textContent =
    `Dark where covering that part of the patch lowers the probability of "${shown.top[0].name}" ` +
    `(${(100 * shown.top[0].probability).toFixed(1)}% uncovered). It falls most, to ` +
    `${(100 * heat[lowest]).toFixed(1)}%, with the square's corner at (${col * stride}, ${row * stride}).`;
  shown.occlusion = { rows, columns, values: Array.from(heat), ms, label: target };
  say(`Occlusion map done: ${total} runs of the network in ${(ms / 1000).toFixed(1)} s.`);
  setState("done");
  part("occlusion-button").disabled = false;
  return shown.occlusion;
}

/** Each value painted over the stride x stride cell around the square's centre, as
 *  alexnet_lib.viz.draw_occlusion places it; the border the centre never reached stays clear. */
function drawOcclusion(heat, rows, columns, square, stride) {
  const overlay = part("occlusion");
  overlay.width = overlay.height = SIZE;
  const context = overlay.getContext("2d");
  const start = (square - stride) / 2;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) {
      const [red, green, blue] = heatColour(heat[r * columns + c]);
      context.fillStyle = `rgba(${red}, ${green}, ${blue}, 0.7)`;
      context.fillRect(start + c * stride, start + r * stride, stride, stride);
    }
  }
  const legend = part("occlusion-legend");
  legend.hidden = false;
  paint(legend.querySelector("canvas"), 256, 1, (p) => heatColour(p / 255));
}

// --- wiring --------------------------------------------------------------------------------------

function addSamples() {
  part("samples").replaceChildren(...config.samples.map((sample) => {
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.sample = sample.file;
    const image = document.createElement("img");
    image.src = new URL(sample.url, assets).href;
    image.alt = `sample photograph: ${sample.name}`;
    image.width = image.height = 64;
    const label = document.createElement("span");
    label.textContent = sample.name;
    button.append(image, label);
    button.addEventListener("click", () => fetch(image.src).then((response) => response.blob())
      .then((blob) => classify(blob, sample.file))
      .catch(() => say(`The sample photograph ${sample.file} could not be loaded.`, "error")));
    return button;
  }));
}

function wire() {
  const drop = part("drop"), chooser = part("file");
  chooser.addEventListener("change", () => chooser.files[0] && classify(chooser.files[0], chooser.files[0].name));
  // A photograph dropped anywhere on this page is taken (rather than opened by the browser in
  // place of the page); the drop zone lights up while one is dragged over the page.
  for (const type of ["dragenter", "dragover"]) {
    document.addEventListener(type, (event) => { event.preventDefault(); drop.classList.add("try-it-dragging"); });
  }
  document.addEventListener("dragleave", (event) => {
    if (!event.relatedTarget) drop.classList.remove("try-it-dragging"); // left the window
  });
  document.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("try-it-dragging");
    const file = event.dataTransfer.files[0];
    if (file) classify(file, file.name);
  });
  part("occlusion-button").addEventListener("click", occlude);
  part("maps").addEventListener("keydown", onMapKeys);
  part("occlusion-toggle").addEventListener("change", (event) => { part("occlusion").hidden = !event.target.checked; });
  part("classes").textContent = config.classes.join(", ");
  addSamples();
}

wire();
network = startNetwork();
const ready = network.then(
  (net) => {
    showKernels(net.kernels);
    say("Ready: drop a photograph, choose a file, or click a sample photograph.");
    if (root.dataset.state === "loading") setState("ready");
  },
  (error) => {
    network = null;
    say(`The network could not be started: ${error.message || error}`, "error");
    setState("error");
    throw error;
  });

// For the book's tests and benchmark: the same steps as the buttons.
window.tryIt = { config, ready, classify, occlude, current: () => current, marks };
