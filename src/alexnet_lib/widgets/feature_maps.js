// The feature-map explorer (Chapter 9): choose an image, a layer and a channel and see
// what that channel of the network computed. The activations were computed in Python
// (feature_maps.py) and travel with the widget as bytes, so everything here works in the
// static book page, with no kernel: the drawing, the choice of image, layer and channel.
// Uploading a new image needs a running kernel (Python computes its activations).
//
// Model traits: images [{name, height, width, rgb: base64 of H*W*3 bytes}],
// layers [names], maps [image][layer] = {channels, height, width, data: base64 of C*H*W
// bytes, each channel stretched to 0..255}, image_index, layer_index, channel, upload, status.

// Viridis, sampled at nine points, interpolated linearly.
const VIRIDIS = [
  [68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141],
  [39, 173, 129], [92, 200, 99], [170, 220, 50], [253, 231, 37],
];

export function colour(v) {
  const x = Math.max(0, Math.min(255, v)) / 255 * (VIRIDIS.length - 1);
  const i = Math.min(Math.floor(x), VIRIDIS.length - 2);
  const t = x - i;
  return VIRIDIS[i].map((a, k) => Math.round(a + t * (VIRIDIS[i + 1][k] - a)));
}

export function decode(base64) {
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

// Draw an h x w picture into a canvas, each pixel `scale` screen pixels; pixel(i) gives [r, g, b].
function paint(canvas, h, w, scale, pixel) {
  canvas.width = w * scale;
  canvas.height = h * scale;
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(w, h);
  for (let i = 0; i < h * w; i++) {
    const [r, g, b] = pixel(i);
    img.data.set([r, g, b, 255], 4 * i);
  }
  const small = document.createElement("canvas");
  small.width = w;
  small.height = h;
  small.getContext("2d").putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(small, 0, 0, w * scale, h * scale);
}

function el(tag, attrs = {}, text = "") {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text) node.textContent = text;
  return node;
}

function render({ model, el: host }) {
  const root = el("div", { class: "fmx", "data-testid": "feature-map-explorer" });
  const controls = el("div", { class: "fmx-controls" });
  const imageSelect = el("select", { "aria-label": "image" });
  const layerSelect = el("select", { "aria-label": "layer" });
  const prev = el("button", { type: "button", "aria-label": "previous channel" }, "\u25c0");
  const slider = el("input", { type: "range", min: "0", step: "1", "aria-label": "channel" });
  const next = el("button", { type: "button", "aria-label": "next channel" }, "\u25b6");
  const channelLabel = el("span", { class: "fmx-channel" });
  const label = (text, node) => { const l = el("label", {}, text); l.appendChild(node); return l; };
  controls.append(label("image ", imageSelect), label("layer ", layerSelect), prev, slider, next, channelLabel);

  const views = el("div", { class: "fmx-views" });
  const inputBox = el("figure", { class: "fmx-figure" });
  const inputCanvas = el("canvas", { "data-testid": "fmx-input" });
  const inputCaption = el("figcaption");
  inputBox.append(inputCanvas, inputCaption);
  const mapBox = el("figure", { class: "fmx-figure" });
  const mapCanvas = el("canvas", { "data-testid": "fmx-map" });
  const mapCaption = el("figcaption");
  mapBox.append(mapCanvas, mapCaption);
  views.append(inputBox, mapBox);

  const grid = el("div", { class: "fmx-grid", "data-testid": "fmx-grid" });
  const uploadRow = el("div", { class: "fmx-upload" });
  const upload = el("input", { type: "file", accept: "image/*", "aria-label": "your own image" });
  const status = el("span", { class: "fmx-status" });
  uploadRow.append(label("your own image (needs a running Python kernel): ", upload), status);
  root.append(controls, views, grid, uploadRow);
  host.appendChild(root);

  const get = () => ({
    images: model.get("images"), layers: model.get("layers"), maps: model.get("maps"),
    image: model.get("image_index"), layer: model.get("layer_index"), channel: model.get("channel"),
  });
  const save = (changes) => {
    for (const [k, v] of Object.entries(changes)) model.set(k, v);
    model.save_changes();
  };
  const cache = new Map();
  const bytes = (m) => {
    if (!cache.has(m.data)) cache.set(m.data, decode(m.data));
    return cache.get(m.data);
  };

  function redraw() {
    const s = get();
    if (!s.images.length || !s.layers.length) return;
    const image = Math.min(s.image, s.images.length - 1);
    const layer = Math.min(s.layer, s.layers.length - 1);
    const m = s.maps[image][layer];
    const channel = Math.max(0, Math.min(s.channel, m.channels - 1));

    imageSelect.replaceChildren(...s.images.map((im, i) => el("option", { value: String(i) }, im.name)));
    imageSelect.value = String(image);
    layerSelect.replaceChildren(...s.layers.map((name, i) => el("option", { value: String(i) }, name)));
    layerSelect.value = String(layer);
    slider.max = String(m.channels - 1);
    slider.value = String(channel);
    channelLabel.textContent = `channel ${channel} of ${m.channels} (0 to ${m.channels - 1})`;

    const im = s.images[image];
    const rgb = bytes({ data: im.rgb });
    paint(inputCanvas, im.height, im.width, Math.max(1, Math.floor(160 / im.width)),
      (i) => [rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]]);
    inputCaption.textContent = `${im.name} (${im.height}x${im.width}, what the network sees)`;

    const data = bytes(m);
    const plane = m.height * m.width;
    const start = channel * plane;
    paint(mapCanvas, m.height, m.width, Math.max(1, Math.floor(160 / m.width)),
      (i) => colour(data[start + i]));
    mapCaption.textContent = `${s.layers[layer]}, channel ${channel}: ${m.height}x${m.width} (dark: low, yellow: high)`;

    grid.replaceChildren();
    const thumb = Math.max(1, Math.floor(48 / m.width));
    for (let c = 0; c < m.channels; c++) {
      const canvas = el("canvas", { title: `channel ${c}`, "data-channel": String(c) });
      if (c === channel) canvas.classList.add("fmx-selected");
      paint(canvas, m.height, m.width, thumb, (i) => colour(data[c * plane + i]));
      canvas.addEventListener("click", () => save({ channel: c }));
      grid.appendChild(canvas);
    }
    status.textContent = model.get("status");
    root.dataset.image = String(image);
    root.dataset.layer = s.layers[layer];
    root.dataset.channel = String(channel);
  }

  imageSelect.addEventListener("change", () => save({ image_index: Number(imageSelect.value) }));
  layerSelect.addEventListener("change", () => save({ layer_index: Number(layerSelect.value), channel: 0 }));
  slider.addEventListener("input", () => save({ channel: Number(slider.value) }));
  const step = (d) => {
    const s = get();
    const m = s.maps[Math.min(s.image, s.maps.length - 1)][Math.min(s.layer, s.layers.length - 1)];
    save({ channel: (s.channel + d + m.channels) % m.channels });
  };
  prev.addEventListener("click", () => step(-1));
  next.addEventListener("click", () => step(1));
  upload.addEventListener("change", () => {
    const file = upload.files && upload.files[0];
    if (!file) return;
    const reader = new FileReader();
    reader.onload = () => {
      status.textContent = "sent to Python; with no kernel running (a static page) nothing will come back";
      save({ upload: String(reader.result) });
    };
    reader.readAsDataURL(file);
  });

  const traits = ["images", "layers", "maps", "image_index", "layer_index", "channel", "status"];
  for (const t of traits) model.on(`change:${t}`, redraw);
  redraw();
  return () => { for (const t of traits) model.off(`change:${t}`, redraw); };
}

export default { render };
