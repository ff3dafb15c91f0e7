// Audio input of the emotion app: files of any size sent to the kernel in chunks, and recordings
// from the microphone (MediaRecorder), converted to a 16 kHz mono WAV in the browser.
//
// Protocol (custom widget messages; the kernel side is emotion_analytics.widget_parts.AudioInput):
//   browser -> kernel {type: "begin", token, name, size}      kernel -> {type: "ready"|"refused", token, message}
//   browser -> kernel {type: "chunk", token, offset} + buffer kernel -> {type: "ack", token, received}
//   browser -> kernel {type: "end", token}                    kernel -> {type: "done"|"refused", token, message}
//   browser -> kernel {type: "remove", token} / {type: "clear"}
// Each chunk is far below the Jupyter server's websocket message limit (10 MiB by default), so
// no server setting is needed. The File (or recording) stays in this page, in a registry the
// player (listen_along.js) reads, so the recording plays without travelling back.

const CHUNK = 2 * 1024 * 1024;

function registry() {
  globalThis.__emotionAnalyticsAudio ??= new Map();
  return globalThis.__emotionAnalyticsAudio;
}

function newToken() {
  if (globalThis.crypto?.randomUUID) return crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

function megabytes(n) {
  return n >= 1e9 ? `${(n / 1e9).toFixed(2)} GB` : `${(n / 1e6).toFixed(1)} MB`;
}

function encodeWav(samples, rate) {
  const buf = new ArrayBuffer(44 + samples.length * 2);
  const v = new DataView(buf);
  const text = (o, s) => { for (let i = 0; i < s.length; i++) v.setUint8(o + i, s.charCodeAt(i)); };
  text(0, "RIFF"); v.setUint32(4, 36 + samples.length * 2, true); text(8, "WAVE");
  text(12, "fmt "); v.setUint32(16, 16, true); v.setUint16(20, 1, true); v.setUint16(22, 1, true);
  v.setUint32(24, rate, true); v.setUint32(28, rate * 2, true); v.setUint16(32, 2, true);
  v.setUint16(34, 16, true); text(36, "data"); v.setUint32(40, samples.length * 2, true);
  for (let i = 0; i < samples.length; i++) {
    const s = Math.max(-1, Math.min(1, samples[i]));
    v.setInt16(44 + i * 2, s < 0 ? s * 0x8000 : s * 0x7fff, true);
  }
  return buf;
}

async function toWav(blob, rate = 16000) {
  const ctx = new AudioContext();
  let decoded;
  try {
    decoded = await ctx.decodeAudioData(await blob.arrayBuffer());
  } finally {
    ctx.close();
  }
  const n = Math.max(1, Math.ceil(decoded.duration * rate));
  const offline = new OfflineAudioContext(1, n, rate);
  const src = offline.createBufferSource();
  src.buffer = decoded;
  src.connect(offline.destination);
  src.start();
  const rendered = await offline.startRendering();
  return new Blob([encodeWav(rendered.getChannelData(0), rate)], { type: "audio/wav" });
}

function render({ model, el }) {
  const root = document.createElement("div");
  root.className = "emotion-input";
  const bar = document.createElement("div");
  bar.className = "emotion-input-bar";
  const input = document.createElement("input");
  input.type = "file";
  input.multiple = model.get("multiple");
  input.accept = model.get("accept");
  input.style.display = "none";
  const pick = document.createElement("button");
  pick.className = "emotion-pick jupyter-button";
  pick.textContent = model.get("description");
  pick.onclick = () => input.click();
  bar.append(pick, input);

  let recordButton = null;
  if (model.get("record")) {
    recordButton = document.createElement("button");
    recordButton.className = "emotion-record jupyter-button";
    recordButton.textContent = "\u25CF Record";
    bar.append(recordButton);
  }
  const clear = document.createElement("button");
  clear.className = "emotion-clear jupyter-button";
  clear.textContent = "Clear";
  clear.onclick = () => model.send({ type: "clear" });
  bar.append(clear);

  const list = document.createElement("ul");
  list.className = "emotion-files";
  const note = document.createElement("div");
  note.className = "emotion-input-note";
  root.append(bar, list, note);
  el.append(root);

  // replies from the kernel, by token
  const waiting = new Map();
  const onMessage = (msg) => {
    if (!msg || !msg.token) return;
    const resolve = waiting.get(msg.token);
    if (resolve) { waiting.delete(msg.token); resolve(msg); }
  };
  model.on("msg:custom", onMessage);
  const ask = (content, buffers) => new Promise((resolve) => {
    waiting.set(content.token, resolve);
    model.send(content, undefined, buffers);
  });

  const queue = [];
  let busy = false;
  async function pump() {
    if (busy) return;
    busy = true;
    try {
      while (queue.length) {
        const { token, file } = queue.shift();
        let reply = await ask({ type: "begin", token, name: file.name, size: file.size });
        if (reply.type !== "ready") continue;
        for (let offset = 0; offset < file.size; offset += CHUNK) {
          const piece = await file.slice(offset, offset + CHUNK).arrayBuffer();
          reply = await ask({ type: "chunk", token, offset }, [piece]);
          if (reply.type !== "ack") break;
        }
        if (reply.type === "ack" || file.size === 0) await ask({ type: "end", token });
      }
    } finally {
      busy = false;
    }
  }
  function add(files) {
    for (const file of files) {
      const token = newToken();
      registry().set(token, file);
      queue.push({ token, file });
    }
    pump();
  }
  input.onchange = () => { add(Array.from(input.files)); input.value = ""; };

  if (recordButton) {
    let recorder = null;
    let timer = null;
    recordButton.onclick = async () => {
      if (recorder) { recorder.stop(); return; }
      note.textContent = "";
      if (!navigator.mediaDevices?.getUserMedia) {
        note.textContent = "This page cannot use the microphone: open it over https or on "
          + "localhost (127.0.0.1), in a browser that allows recording.";
        return;
      }
      let stream;
      try {
        stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      } catch (err) {
        note.textContent = `The microphone is not available (${err.name}): allow this page to `
          + "use it in the browser's site settings, then press Record again.";
        return;
      }
      const chunks = [];
      recorder = new MediaRecorder(stream);
      recorder.ondataavailable = (e) => { if (e.data.size) chunks.push(e.data); };
      const started = Date.now();
      recorder.onstop = async () => {
        clearInterval(timer);
        stream.getTracks().forEach((t) => t.stop());
        recorder = null;
        recordButton.textContent = "\u25CF Record";
        recordButton.classList.remove("emotion-recording");
        const stamp = new Date(started).toTimeString().slice(0, 8).replaceAll(":", "");
        try {
          const wav = await toWav(new Blob(chunks, { type: chunks[0]?.type || "audio/webm" }));
          add([new File([wav], `recording-${stamp}.wav`, { type: "audio/wav" })]);
        } catch (err) {
          note.textContent = `The recording could not be read (${err.name || err}): record again.`;
        }
      };
      recorder.start(500);
      recordButton.classList.add("emotion-recording");
      const tick = () => {
        const s = Math.round((Date.now() - started) / 1000);
        recordButton.textContent = `\u25A0 Stop (${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")})`;
      };
      tick();
      timer = setInterval(tick, 500);
    };
  }

  function draw() {
    list.replaceChildren();
    for (const f of model.get("files")) {
      const li = document.createElement("li");
      li.className = `emotion-file emotion-file-${f.state}`;
      li.dataset.token = f.token;
      const pct = f.size ? Math.floor((100 * f.received) / f.size) : 100;
      const state = {
        uploading: `uploading ${pct}% of ${megabytes(f.size)}`,
        ready: megabytes(f.size),
        refused: f.message,
      }[f.state] || f.state;
      const name = document.createElement("b");
      name.textContent = f.label;
      const text = document.createElement("span");
      text.textContent = ` \u2014 ${state} `;
      const remove = document.createElement("button");
      remove.className = "emotion-remove";
      remove.title = "Remove this file";
      remove.textContent = "\u00D7";
      remove.onclick = () => model.send({ type: "remove", token: f.token });
      li.append(name, text, remove);
      list.append(li);
    }
  }
  model.on("change:files", draw);
  draw();
  return () => {
    model.off("change:files", draw);
    model.off("msg:custom", onMessage);
  };
}

export default { render };
