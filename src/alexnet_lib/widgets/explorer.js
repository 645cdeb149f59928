// The sliding-filter explorer (Chapter 1): an anywidget whose whole logic is here,
// in the browser, so it stays interactive in JupyterLab, in Colab and in the static
// book page where no Python kernel runs.
//
// Model traits (see explorer.py): image (H x W numbers), kernel (k x k numbers),
// presets ({size: {name: kernel}}), preset (name or "custom"), stride, padding,
// position (row-major index of the current output value), cell_px.

const fmt = (v, digits = 2) => {
  if (!Number.isFinite(v)) return "?";
  const s = v.toFixed(digits);
  return s === "-0.00" || s === "-0.000" ? s.slice(1) : s;
};

// Output length along one axis; PyTorch's rule: floor((n + 2p - k) / s) + 1.
function outLength(n, k, p, s) {
  const span = n + 2 * p - k;
  if (span < 0) return { size: 0, exact: false, span };
  return { size: Math.floor(span / s) + 1, exact: span % s === 0, span };
}

// Everything the view shows, computed from the model: the padded input, the output
// size and every output value (cross-correlation, the kernel is not flipped).
export function compute(image, kernel, stride, padding) {
  const h = image.length;
  const w = h ? image[0].length : 0;
  const k = kernel.length;
  const hp = h + 2 * padding;
  const wp = w + 2 * padding;
  const padded = [];
  for (let r = 0; r < hp; r++) {
    const row = [];
    for (let c = 0; c < wp; c++) {
      const ir = r - padding;
      const ic = c - padding;
      const inside = ir >= 0 && ir < h && ic >= 0 && ic < w;
      row.push(inside ? Number(image[ir][ic]) : 0);
    }
    padded.push(row);
  }
  const oh = outLength(h, k, padding, stride);
  const ow = outLength(w, k, padding, stride);
  const out = [];
  let maxAbs = 0;
  for (let i = 0; i < oh.size; i++) {
    const row = [];
    for (let j = 0; j < ow.size; j++) {
      let sum = 0;
      for (let u = 0; u < k; u++) {
        for (let v = 0; v < k; v++) {
          sum += padded[i * stride + u][j * stride + v] * Number(kernel[u][v]);
        }
      }
      row.push(sum);
      maxAbs = Math.max(maxAbs, Math.abs(sum));
    }
    out.push(row);
  }
  return { h, w, k, hp, wp, padded, oh, ow, out, maxAbs };
}

function el(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("data-")) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) node.append(child);
  return node;
}

function grey(v) {
  const g = Math.round(255 * Math.min(1, Math.max(0, v)));
  return `rgb(${g},${g},${g})`;
}

// Blue for negative, white for zero, orange-red for positive.
function diverging(v, maxAbs) {
  const t = maxAbs > 0 ? Math.max(-1, Math.min(1, v / maxAbs)) : 0;
  const mix = (a, b) => Math.round(255 + (b - 255) * Math.abs(t));
  return t >= 0
    ? `rgb(${mix(0, 230)},${mix(0, 85)},${mix(0, 13)})`
    : `rgb(${mix(0, 33)},${mix(0, 102)},${mix(0, 172)})`;
}

function textColour(v, maxAbs) {
  return maxAbs > 0 && Math.abs(v) / maxAbs > 0.6 ? "#fff" : "#111";
}

function render({ model, el: host }) {
  let timer = null;
  const root = el("div", { class: "sfe", "data-testid": "sliding-filter-explorer" });

  // --- controls -------------------------------------------------------------
  const presetSelect = el("select", { "data-role": "preset", title: "Choose a classic filter" });
  const sizeSelect = el("select", { "data-role": "kernel-size", title: "Kernel size" });
  const padSelect = el("select", { "data-role": "padding", title: "Zeros added on each side" });
  const strideSelect = el("select", { "data-role": "stride", title: "Step between windows" });
  const prevButton = el("button", { type: "button", text: "\u25c0", title: "Previous position", "data-role": "prev" });
  const playButton = el("button", { type: "button", text: "\u25b6 play", "data-role": "play" });
  const nextButton = el("button", { type: "button", text: "\u25b6", title: "Next position", "data-role": "next" });
  const allButton = el("button", { type: "button", text: "fill all", "data-role": "fill-all" });
  const slider = el("input", { type: "range", min: 0, step: 1, "data-role": "position" });
  slider.setAttribute("aria-label", "window position");
  const where = el("span", { class: "sfe-where", "data-role": "where" });

  const label = (text, control) => el("label", { class: "sfe-label" }, [text + " ", control]);
  root.append(
    el("div", { class: "sfe-controls" }, [
      label("filter", presetSelect),
      label("size", sizeSelect),
      label("padding", padSelect),
      label("stride", strideSelect),
    ]),
    el("div", { class: "sfe-controls" }, [prevButton, slider, nextButton, playButton, allButton, where]),
  );

  // --- panels ---------------------------------------------------------------
  const inputGrid = el("div", { class: "sfe-grid", "data-role": "input" });
  const kernelGrid = el("div", { class: "sfe-kernel", "data-role": "kernel" });
  const sumGrid = el("div", { class: "sfe-sum", "data-role": "products" });
  const valueLine = el("div", { class: "sfe-value-line" });
  const valueSpan = el("span", { class: "sfe-value", "data-role": "value" });
  const outputGrid = el("div", { class: "sfe-grid", "data-role": "feature-map" });
  const sizeNote = el("div", { class: "sfe-note", "data-role": "size-note" });

  const panel = (title, ...children) =>
    el("div", { class: "sfe-panel" }, [el("div", { class: "sfe-title", text: title }), ...children]);
  root.append(
    el("div", { class: "sfe-panels" }, [
      panel("input (click a pixel to move the window)", inputGrid),
      panel("filter (edit the numbers)", kernelGrid),
      panel("window \u00d7 filter, summed", sumGrid, valueLine),
      panel("feature map", outputGrid, sizeNote),
    ]),
  );
  host.append(root);

  // --- model access ---------------------------------------------------------
  const get = () => ({
    image: model.get("image") || [],
    kernel: model.get("kernel") || [[0]],
    stride: Math.max(1, Number(model.get("stride")) || 1),
    padding: Math.max(0, Number(model.get("padding")) || 0),
    position: Math.max(0, Number(model.get("position")) || 0),
    preset: model.get("preset") || "custom",
    presets: model.get("presets") || {},
    cell: Math.max(6, Number(model.get("cell_px")) || 18),
  });
  const save = (changes) => {
    for (const [key, value] of Object.entries(changes)) model.set(key, value);
    model.save_changes();
  };
  const nPositions = (c) => c.oh.size * c.ow.size;

  function fillSelect(select, options, current) {
    const wanted = options.map(String).join("\u0000");
    if (select.dataset.options !== wanted) {
      select.replaceChildren(...options.map((o) => el("option", { value: String(o), text: String(o) })));
      select.dataset.options = wanted;
    }
    select.value = String(current);
  }

  function drawControls(s, c) {
    const sizes = Object.keys(s.presets).sort((a, b) => Number(a) - Number(b));
    const names = Object.keys(s.presets[String(c.k)] || {});
    fillSelect(presetSelect, [...names, "custom"], names.includes(s.preset) ? s.preset : "custom");
    fillSelect(sizeSelect, sizes.length ? sizes : [c.k], c.k);
    const pads = [];
    for (let p = 0; p <= Math.max(c.k - 1, s.padding); p++) pads.push(p);
    fillSelect(padSelect, pads, s.padding);
    fillSelect(strideSelect, [1, 2, 3, 4].concat(s.stride > 4 ? [s.stride] : []), s.stride);
    const n = nPositions(c);
    slider.max = String(Math.max(0, n - 1));
    slider.value = String(Math.min(s.position, Math.max(0, n - 1)));
    slider.disabled = n === 0;
  }

  function cellDiv(size, bg, extra = {}) {
    const d = el("div", { class: "sfe-cell", ...extra });
    d.style.width = d.style.height = `${size}px`;
    d.style.background = bg;
    return d;
  }

  function drawInput(s, c, i, j, active) {
    inputGrid.style.gridTemplateColumns = `repeat(${c.wp}, ${s.cell}px)`;
    const cells = [];
    const covered = (r, col) => {
      // Is padded pixel (r, col) under some window? (Not when the stride leaves it out.)
      const lastR = (c.oh.size - 1) * s.stride + c.k - 1;
      const lastC = (c.ow.size - 1) * s.stride + c.k - 1;
      return r <= lastR && col <= lastC;
    };
    for (let r = 0; r < c.hp; r++) {
      for (let col = 0; col < c.wp; col++) {
        const isPad = r < s.padding || col < s.padding || r >= c.hp - s.padding || col >= c.wp - s.padding;
        const v = c.padded[r][col];
        const d = cellDiv(s.cell, isPad ? "#e9eef5" : grey(v), { "data-row": r, "data-col": col });
        d.title = isPad ? `padding (0)` : `x[${r - s.padding}, ${col - s.padding}] = ${fmt(v, 3)}`;
        if (isPad) d.classList.add("sfe-pad");
        if (!covered(r, col)) d.classList.add("sfe-unseen");
        if (active && r >= i * s.stride && r < i * s.stride + c.k && col >= j * s.stride && col < j * s.stride + c.k) {
          d.classList.add("sfe-in-window");
        }
        d.addEventListener("click", () => moveTo(r, col));
        cells.push(d);
      }
    }
    inputGrid.replaceChildren(...cells);
    // The window's outline, drawn over the grid.
    if (active) {
      const box = el("div", { class: "sfe-window", "data-role": "window" });
      const gap = 1;
      box.style.left = `${j * s.stride * (s.cell + gap)}px`;
      box.style.top = `${i * s.stride * (s.cell + gap)}px`;
      box.style.width = box.style.height = `${c.k * (s.cell + gap) - gap}px`;
      inputGrid.append(box);
    }
  }

  // The filter's inputs are kept between redraws (same size), so typing in one is never
  // interrupted: a focused input keeps its text while everything else updates.
  let weightInputs = [];
  function drawKernel(s, c) {
    kernelGrid.style.gridTemplateColumns = `repeat(${c.k}, auto)`;
    if (weightInputs.length !== c.k * c.k) {
      weightInputs = [];
      for (let u = 0; u < c.k; u++) {
        for (let v = 0; v < c.k; v++) weightInputs.push(makeWeightInput(u, v));
      }
      kernelGrid.replaceChildren(...weightInputs);
    }
    const kmax = Math.max(1e-9, ...s.kernel.flat().map((v) => Math.abs(Number(v))));
    for (const input of weightInputs) {
      const w = Number(s.kernel[input.dataset.row][input.dataset.col]);
      if (input !== document.activeElement) input.value = String(Math.round(w * 1e4) / 1e4);
      input.style.background = diverging(w, kmax);
      input.style.color = textColour(w, kmax);
    }
  }

  function makeWeightInput(u, v) {
    const input = el("input", {
      type: "number",
      step: "0.1",
      class: "sfe-weight",
      "data-role": "kernel-cell",
      "data-row": u,
      "data-col": v,
    });
    input.setAttribute("aria-label", `filter weight row ${u} column ${v}`);
    // "input" fires on every keystroke, also where the notebook claims the Enter key
    // (JupyterLab), so the value updates as the reader types.
    const commit = () => {
      if (input.value.trim() === "") return; // an unfinished number such as "-"
      const value = Number(input.value);
      if (!Number.isFinite(value)) return;
      const kernel = get().kernel.map((row) => row.map(Number));
      if (kernel[u][v] === value) return;
      kernel[u][v] = value;
      save({ kernel, preset: "custom" });
    };
    input.addEventListener("input", commit);
    input.addEventListener("change", commit);
    input.addEventListener("blur", () => redraw());
    return input;
  }

  function drawProducts(s, c, i, j, active) {
    sumGrid.style.gridTemplateColumns = `repeat(${c.k}, auto)`;
    const terms = [];
    if (!active) {
      sumGrid.replaceChildren();
      valueSpan.textContent = "";
      valueSpan.removeAttribute("data-value");
      valueLine.replaceChildren(el("span", { text: "No window fits: the kernel is larger than the padded input." }));
      return;
    }
    for (let u = 0; u < c.k; u++) {
      for (let v = 0; v < c.k; v++) {
        const x = c.padded[i * s.stride + u][j * s.stride + v];
        const w = Number(s.kernel[u][v]);
        terms.push(el("div", { class: "sfe-term", text: `${fmt(x)}\u00d7${fmt(w)}`, title: `= ${fmt(x * w, 4)}` }));
      }
    }
    sumGrid.replaceChildren(...terms);
    const value = c.out[i][j];
    valueSpan.textContent = fmt(value, 3);
    valueSpan.dataset.value = String(value);
    valueLine.replaceChildren(el("span", { text: `out[${i}, ${j}] = sum = ` }), valueSpan);
  }

  function drawOutput(s, c, position) {
    outputGrid.style.gridTemplateColumns = `repeat(${c.ow.size}, ${s.cell}px)`;
    const cells = [];
    for (let i = 0; i < c.oh.size; i++) {
      for (let j = 0; j < c.ow.size; j++) {
        const index = i * c.ow.size + j;
        const filled = index <= position;
        const v = c.out[i][j];
        const d = cellDiv(s.cell, filled ? diverging(v, c.maxAbs) : "#f4f4f4", {
          "data-row": i,
          "data-col": j,
        });
        if (filled) {
          d.dataset.value = String(v);
          d.title = `out[${i}, ${j}] = ${fmt(v, 3)}`;
        } else {
          d.classList.add("sfe-empty");
        }
        if (index === position) d.classList.add("sfe-current");
        d.addEventListener("click", () => save({ position: index }));
        cells.push(d);
      }
    }
    outputGrid.replaceChildren(...cells);
    const axis = (name, n, o) =>
      `${name}: (${n} + 2\u00b7${s.padding} \u2212 ${c.k}) / ${s.stride} + 1 = ` +
      (o.span < 0 ? "no window fits" : o.exact ? `${o.size}` : `${fmt(o.span / s.stride + 1, 2)} \u2192 ${o.size}`);
    const lines = [axis("height", c.h, c.oh), axis("width", c.w, c.ow)];
    if (!(c.oh.exact && c.ow.exact) && c.oh.span >= 0 && c.ow.span >= 0) {
      lines.push("The windows do not fit evenly: the hatched pixels are never seen (PyTorch drops them too).");
    }
    sizeNote.replaceChildren(...lines.map((t) => el("div", { text: t })));
  }

  function redraw() {
    const s = get();
    const c = compute(s.image, s.kernel, s.stride, s.padding);
    const n = nPositions(c);
    const position = Math.min(s.position, Math.max(0, n - 1));
    const i = n ? Math.floor(position / c.ow.size) : 0;
    const j = n ? position % c.ow.size : 0;
    drawControls(s, c);
    drawInput(s, c, i, j, n > 0);
    drawKernel(s, c);
    drawProducts(s, c, i, j, n > 0);
    drawOutput(s, c, n ? position : -1);
    // Counted from 0 in reading order, as the Python side's `position`.
    where.textContent = n ? `position ${position} (0 to ${n - 1}): row ${i}, column ${j}` : "";
    root.dataset.position = String(position);
  }

  // Move the window so that it is centred (as nearly as the stride allows) on padded pixel (r, col).
  function moveTo(r, col) {
    const s = get();
    const c = compute(s.image, s.kernel, s.stride, s.padding);
    if (!nPositions(c)) return;
    const clamp = (v, hi) => Math.max(0, Math.min(hi, v));
    const i = clamp(Math.round((r - Math.floor(c.k / 2)) / s.stride), c.oh.size - 1);
    const j = clamp(Math.round((col - Math.floor(c.k / 2)) / s.stride), c.ow.size - 1);
    save({ position: i * c.ow.size + j });
  }

  function step(delta) {
    const s = get();
    const c = compute(s.image, s.kernel, s.stride, s.padding);
    const n = nPositions(c);
    if (!n) return;
    save({ position: Math.max(0, Math.min(n - 1, Math.min(s.position, n - 1) + delta)) });
  }

  function stop() {
    if (timer !== null) clearInterval(timer);
    timer = null;
    playButton.textContent = "\u25b6 play";
  }

  // --- events ---------------------------------------------------------------
  slider.addEventListener("input", () => save({ position: Number(slider.value) }));
  prevButton.addEventListener("click", () => { stop(); step(-1); });
  nextButton.addEventListener("click", () => { stop(); step(1); });
  allButton.addEventListener("click", () => { stop(); step(Number.MAX_SAFE_INTEGER); });
  playButton.addEventListener("click", () => {
    if (timer !== null) return stop();
    const s = get();
    const c = compute(s.image, s.kernel, s.stride, s.padding);
    if (s.position >= nPositions(c) - 1) save({ position: 0 });
    playButton.textContent = "\u275a\u275a pause";
    timer = setInterval(() => {
      const now = get();
      const cc = compute(now.image, now.kernel, now.stride, now.padding);
      if (now.position >= nPositions(cc) - 1) return stop();
      step(1);
    }, 120);
  });
  presetSelect.addEventListener("change", () => {
    const s = get();
    const k = String(s.kernel.length);
    const chosen = (s.presets[k] || {})[presetSelect.value];
    if (chosen) save({ preset: presetSelect.value, kernel: chosen });
    else save({ preset: "custom" });
  });
  sizeSelect.addEventListener("change", () => {
    const s = get();
    const table = s.presets[sizeSelect.value] || {};
    const name = s.preset in table ? s.preset : Object.keys(table)[0];
    if (name) save({ kernel: table[name], preset: name, position: 0 });
  });
  padSelect.addEventListener("change", () => save({ padding: Number(padSelect.value), position: 0 }));
  strideSelect.addEventListener("change", () => save({ stride: Number(strideSelect.value), position: 0 }));

  const traits = ["image", "kernel", "stride", "padding", "position", "preset", "presets", "cell_px"];
  for (const t of traits) model.on(`change:${t}`, redraw);
  redraw();

  return () => {
    stop();
    for (const t of traits) model.off(`change:${t}`, redraw);
  };
}

export default { render };
