// Listen along: the recording's player, the timeline image with a hot spot on every segment
// (hover: emotion, confidence, probabilities; click: play that segment) and the segment table
// (click a row: play it). The kernel side is emotion_analytics.widget_parts.ListenAlong.
//
// The audio comes from the page itself when it was uploaded or recorded here (the registry that
// audio_input.js fills); otherwise the kernel sends it: {type: "need", token} ->
// {type: "audio", token, last} + buffer, chunk after chunk, or {type: "no-audio", token, message}.

function registry() {
  globalThis.__emotionAnalyticsAudio ??= new Map();
  return globalThis.__emotionAnalyticsAudio;
}

function clock(t) {
  const s = Math.max(0, t);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = (s % 60).toFixed(1).padStart(4, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
}

function fmt(value) {
  if (value === null || value === undefined || Number.isNaN(value)) return "";
  return typeof value === "number" ? (Number.isInteger(value) ? String(value) : value.toFixed(2)) : String(value);
}

function render({ model, el }) {
  const root = document.createElement("div");
  root.className = "emotion-listen";
  const head = document.createElement("div");
  head.className = "emotion-player";
  const audio = document.createElement("audio");
  audio.controls = true;
  audio.preload = "metadata";
  audio.className = "emotion-audio";
  const now = document.createElement("span");
  now.className = "emotion-now";
  head.append(audio, now);

  const figure = document.createElement("div");
  figure.className = "emotion-figure";
  figure.style.position = "relative";
  figure.style.display = "inline-block";
  figure.style.maxWidth = "100%";
  const img = document.createElement("img");
  img.className = "emotion-timeline";
  img.style.maxWidth = "100%";
  img.style.display = "block";
  const spots = document.createElement("div");
  spots.className = "emotion-spots";
  Object.assign(spots.style, { position: "absolute", inset: "0" });
  const cursor = document.createElement("div");
  cursor.className = "emotion-cursor";
  Object.assign(cursor.style, {
    position: "absolute", top: "0", bottom: "0", width: "2px", background: "#d32f2f",
    display: "none", pointerEvents: "none",
  });
  figure.append(img, spots, cursor);
  const tip = document.createElement("div");
  tip.className = "emotion-tooltip";
  Object.assign(tip.style, {
    position: "fixed", display: "none", zIndex: "1000", background: "#263238", color: "#fff",
    padding: "4px 8px", borderRadius: "4px", fontSize: "12px", pointerEvents: "none",
    whiteSpace: "pre",
  });
  const dims = document.createElement("img");
  dims.className = "emotion-dimensions";
  dims.style.maxWidth = "100%";
  const tableBox = document.createElement("div");
  tableBox.className = "emotion-table-box";
  Object.assign(tableBox.style, { maxHeight: "360px", overflow: "auto" });
  root.append(head, figure, dims, tableBox, tip);
  el.append(root);

  const urls = new Map(); // token -> object URL
  const pending = new Map(); // token -> {parts, resolve}
  let current = null; // token playing
  let stopAt = null;
  let selected = null;

  const onMessage = (msg, buffers) => {
    const wait = msg && pending.get(msg.token);
    if (!wait) return;
    if (msg.type === "audio") {
      wait.parts.push(buffers[0]);
      if (msg.last) {
        pending.delete(msg.token);
        wait.resolve(new Blob(wait.parts, { type: msg.mime || "audio/wav" }));
      }
    } else if (msg.type === "no-audio") {
      pending.delete(msg.token);
      wait.resolve(null);
      now.textContent = msg.message;
    }
  };
  model.on("msg:custom", onMessage);

  async function urlFor(token) {
    if (urls.has(token)) return urls.get(token);
    let blob = registry().get(token);
    if (!blob) {
      now.textContent = "Loading the recording from the kernel\u2026";
      blob = await new Promise((resolve) => {
        pending.set(token, { parts: [], resolve });
        model.send({ type: "need", token });
      });
      if (!blob) return null;
    }
    const url = URL.createObjectURL(blob);
    urls.set(token, url);
    return url;
  }

  async function load(file) {
    const token = model.get("sources")[file];
    if (!token) {
      now.textContent = `No audio for ${file} in this page.`;
      return false;
    }
    if (current === token) return true;
    const url = await urlFor(token);
    if (!url) return false;
    current = token;
    audio.dataset.file = file;
    audio.src = url;
    await new Promise((resolve) => {
      if (audio.readyState >= 1) resolve();
      else audio.addEventListener("loadedmetadata", resolve, { once: true });
    });
    return true;
  }

  async function play(i) {
    const seg = model.get("segments")[i];
    if (!seg) return;
    select(i);
    if (!(await load(seg.file))) return;
    stopAt = seg.end;
    audio.currentTime = seg.start;
    now.textContent = `Playing ${seg.file}${seg.speaker ? ` / ${seg.speaker}` : ""}: `
      + `${clock(seg.start)}\u2013${clock(seg.end)} ${seg.emotion ?? ""}`;
    try {
      await audio.play();
    } catch (err) {
      now.textContent = `The browser did not play the audio (${err.name}): press play.`;
    }
  }

  audio.addEventListener("timeupdate", () => {
    if (stopAt !== null && audio.currentTime >= stopAt) {
      audio.pause();
      stopAt = null;
    }
    const span = model.get("span");
    const box = model.get("plot_box");
    if (span > 0 && box.length === 4) {
      cursor.style.display = "block";
      cursor.style.left = `${100 * (box[0] + ((box[2] - box[0]) * audio.currentTime) / span)}%`;
      cursor.style.top = `${100 * box[1]}%`;
      cursor.style.bottom = "auto";
      cursor.style.height = `${100 * (box[3] - box[1])}%`;
    }
  });
  audio.addEventListener("play", () => { if (stopAt === null) now.textContent = ""; });

  function describe(seg) {
    const lines = [
      `${seg.emotion ?? "(no emotion)"}` + (seg.confidence != null ? `  confidence ${fmt(seg.confidence)}` : ""),
      `${seg.file}${seg.speaker ? ` / ${seg.speaker}` : ""}  ${clock(seg.start)}\u2013${clock(seg.end)}`,
    ];
    for (const [k, v] of Object.entries(seg.dims || {})) lines.push(`${k} ${fmt(v)}`);
    const probs = Object.entries(seg.probs || {}).sort((a, b) => b[1] - a[1]);
    if (probs.length) lines.push(probs.map(([k, v]) => `${k} ${(100 * v).toFixed(0)}%`).join("  "));
    return lines.join("\n");
  }
  function showTip(event, i) {
    tip.textContent = describe(model.get("segments")[i]);
    tip.style.display = "block";
    tip.style.left = `${event.clientX + 12}px`;
    tip.style.top = `${event.clientY + 12}px`;
  }
  const hideTip = () => { tip.style.display = "none"; };

  function select(i) {
    if (selected !== null) {
      tableBox.querySelector(`tr[data-i="${selected}"]`)?.classList.remove("emotion-selected");
    }
    selected = i;
    const row = tableBox.querySelector(`tr[data-i="${i}"]`);
    row?.classList.add("emotion-selected");
    row?.scrollIntoView({ block: "nearest" });
    place(chosen, i);
  }

  function drawImage(target, key) {
    const bytes = model.get(key);
    if (!bytes || !bytes.byteLength) {
      target.removeAttribute("src");
      target.style.display = "none";
      return;
    }
    if (target.src) URL.revokeObjectURL(target.src);
    target.src = URL.createObjectURL(new Blob([bytes], { type: "image/png" }));
    target.style.display = "block";
  }

  // The segment under the pointer: in its lane's band, the nearest in time within a few pixels
  // (a 3-s segment of a 2-hour call is narrower than a pixel).
  function hit(event) {
    const r = img.getBoundingClientRect();
    if (!r.width || !r.height) return null;
    const fx = (event.clientX - r.left) / r.width;
    const fy = (event.clientY - r.top) / r.height;
    const tolerance = 6 / r.width;
    let best = null;
    let bestD = Infinity;
    model.get("boxes").forEach((b, i) => {
      if (!b || fy < b[1] || fy > b[3]) return;
      const d = fx < b[0] ? b[0] - fx : fx > b[2] ? fx - b[2] : 0;
      if (d < bestD) { bestD = d; best = i; }
    });
    return bestD <= tolerance ? best : null;
  }
  function place(div, i) {
    const b = i === null ? null : model.get("boxes")[i];
    if (!b) { div.style.display = "none"; return; }
    Object.assign(div.style, {
      display: "block", left: `${100 * b[0]}%`, top: `${100 * b[1]}%`,
      width: `max(2px, ${100 * (b[2] - b[0])}%)`, height: `${100 * (b[3] - b[1])}%`,
    });
  }
  const hover = document.createElement("div");
  hover.className = "emotion-spot";
  const chosen = document.createElement("div");
  chosen.className = "emotion-spot emotion-selected";
  for (const d of [hover, chosen]) {
    Object.assign(d.style, { position: "absolute", display: "none", pointerEvents: "none" });
  }
  figure.onmousemove = (e) => {
    const i = hit(e);
    place(hover, i);
    figure.style.cursor = i === null ? "default" : "pointer";
    if (i === null) hideTip(); else showTip(e, i);
  };
  figure.onmouseleave = () => { place(hover, null); hideTip(); };
  figure.onclick = (e) => { const i = hit(e); if (i !== null) play(i); };

  function drawSpots() {
    spots.replaceChildren();
    const box = model.get("plot_box");
    for (const [y0, y1] of model.get("lanes")) {
      const lane = document.createElement("div");
      lane.className = "emotion-lane";
      Object.assign(lane.style, {
        position: "absolute", left: `${100 * box[0]}%`, width: `${100 * (box[2] - box[0])}%`,
        top: `${100 * y0}%`, height: `${100 * (y1 - y0)}%`,
      });
      spots.append(lane);
    }
    spots.append(hover, chosen);
    place(hover, null);
    place(chosen, selected);
  }

  function drawTable() {
    const columns = model.get("columns");
    const segments = model.get("segments");
    const table = document.createElement("table");
    table.className = "emotion-table";
    const thead = table.createTHead().insertRow();
    for (const c of ["", ...columns]) {
      const th = document.createElement("th");
      th.textContent = c;
      thead.append(th);
    }
    const body = table.createTBody();
    segments.forEach((seg, i) => {
      const tr = body.insertRow();
      tr.dataset.i = i;
      tr.title = "Click to play this segment";
      const cell = tr.insertCell();
      cell.textContent = "\u25B6";
      cell.className = "emotion-play";
      for (const c of columns) tr.insertCell().textContent = fmt(seg.row[c]);
      tr.onclick = () => play(i);
      tr.onmousemove = (e) => showTip(e, i);
      tr.onmouseleave = hideTip;
    });
    tableBox.replaceChildren(table);
    selected = null;
    place(chosen, null);
  }

  function drawAll() {
    drawImage(img, "png");
    drawImage(dims, "dims_png");
    drawSpots();
    drawTable();
    cursor.style.display = "none";
    const sources = model.get("sources");
    const first = Object.keys(sources)[0];
    if (first && !audio.dataset.file) load(first);
    else if (audio.dataset.file && !sources[audio.dataset.file]) {
      current = null;
      audio.removeAttribute("src");
      delete audio.dataset.file;
      if (first) load(first);
    }
  }
  model.on("change:segments", drawAll);
  model.on("change:png", () => drawImage(img, "png"));
  model.on("change:dims_png", () => drawImage(dims, "dims_png"));
  model.on("change:boxes", drawSpots);
  model.on("change:lanes", drawSpots);
  drawAll();
  return () => {
    model.off("msg:custom", onMessage);
    model.off("change:segments", drawAll);
    for (const url of urls.values()) URL.revokeObjectURL(url);
  };
}

export default { render };
