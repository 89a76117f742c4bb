// mjproxy console: one static page, no build step, no external assets. It speaks the same
// HTTP API as any client (protocol.md, plus-api.md); the secret stays in localStorage.
"use strict";

const API = new URL("../", document.baseURI).href; // "/console/" -> the API root (stage kept)
const SECRET_KEY = "mjproxy.secret";
const TERMINAL = new Set(["SUCCESS", "FAILURE", "CANCEL"]);
const MODAL_DESCRIPTION = "Waiting for window confirm";
const $ = (id) => document.getElementById(id);
const state = { taskId: null, timer: null, task: null, routes: {}, history: null, parents: {} };

// ---- HTTP ---------------------------------------------------------------------------------
class ApiError extends Error {}

function headersFor(body) {
  const headers = { Accept: "application/json" };
  const secret = localStorage.getItem(SECRET_KEY);
  if (secret) headers["mj-api-secret"] = secret;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  return headers;
}

function envelopeOf(text) {
  try {
    const data = JSON.parse(text);
    return data && typeof data === "object" && Number.isInteger(data.code) ? data : null;
  } catch {
    return null;
  }
}

async function api(path, { method = "GET", body } = {}) {
  const resp = await fetch(API + path.replace(/^\//, ""), {
    method, headers: headersFor(body), body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (resp.status === 401) {
    openSecret();
    throw new ApiError("HTTP 401: enter the API secret");
  }
  const text = await resp.text();
  if (!resp.ok) {
    // Plus servers send some refusals with an HTTP status and the envelope (404 + code 3).
    const envelope = envelopeOf(text);
    if (envelope) return { headers: resp.headers, data: envelope };
    throw new ApiError(`HTTP ${resp.status} from ${path}`);
  }
  return { headers: resp.headers, data: text.trim() ? JSON.parse(text) : null };
}

// Does this deployment have a POST route? Asked with an empty body, a route answers with the
// protocol's envelope (code 4 or 3, nothing is created); a missing one with the gateway's 404
// (403 on older deployments) without a `code`.
async function hasRoute(path) {
  if (!(path in state.routes)) {
    state.routes[path] = fetch(API + path, { method: "POST", headers: headersFor({}), body: "{}" })
      .then(async (r) => {
        if (r.status === 401) { delete state.routes[path]; return false; }
        return envelopeOf(await r.text()) !== null;
      })
      .catch(() => { delete state.routes[path]; return false; });
  }
  return state.routes[path];
}

// ---- small helpers ------------------------------------------------------------------------
function toast(text, bad = false) {
  const div = document.createElement("div");
  div.textContent = text;
  if (bad) div.className = "bad";
  $("toast").append(div);
  setTimeout(() => div.remove(), 7000);
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("data-")) node.setAttribute(k, v);
    else node[k] = v;
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

function percent(task) {
  if (task.status === "SUCCESS") return 100;
  const m = /^\s*(\d{1,3})\s*%/.exec(task.progress || "");
  return m ? Math.min(100, Number(m[1])) : 0;
}

function when(ms) {
  return ms ? new Date(ms).toLocaleString() : "";
}

function readFile(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // Clipboard API needs a secure context; plain http on a LAN address falls back.
    const area = el("textarea", { value: text });
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
}

// ---- submitting ---------------------------------------------------------------------------
function composedPrompt() {
  const parts = [$("prompt").value.trim()];
  const add = (flag, value) => { if (String(value).trim() !== "") parts.push(`${flag} ${String(value).trim()}`); };
  add("--ar", $("p-ar").value);
  if ($("p-v").value) parts.push($("p-v").value);
  add("--stylize", $("p-s").value);
  add("--chaos", $("p-c").value);
  add("--no", $("p-no").value);
  add("--seed", $("p-seed").value);
  return parts.filter(Boolean).join(" ");
}

async function submit(path, body, context = {}) {
  const { data } = await api(path, { method: "POST", body });
  if (data && (data.code === 1 || data.code === 22)) {
    if (data.code === 22) toast(data.description);
    follow(String(data.result));
    return data;
  }
  if (data && data.code === 21 && data.description === MODAL_DESCRIPTION) {
    if (context.parent) state.parents[String(data.result)] = context.parent;
    follow(String(data.result));
    openModal(String(data.result), context.button, context.parent);
    return data;
  }
  toast(`${data ? data.code : "?"}: ${data ? data.description : "no answer"}`, true);
  return data;
}

async function onImagine(event) {
  event.preventDefault();
  const prompt = composedPrompt();
  if (!$("prompt").value.trim()) { toast("Type a prompt first", true); return; }
  const mode = $("p-mode").value;
  const button = $("submit");
  button.disabled = true;
  try {
    await submit(`${mode ? `mj-${mode}/` : ""}mj/submit/imagine`, { prompt });
  } catch (err) {
    toast(err.message, true);
  } finally {
    button.disabled = false;
  }
}

async function onFiles(files) {
  const images = [...files].filter((f) => f.type.startsWith("image/"));
  if (images.length < 1 || images.length > 5) { toast("Drop one image (describe) or 2–5 (blend)", true); return; }
  try {
    const urls = await Promise.all(images.map(readFile));
    if (urls.length === 1) await submit("mj/submit/describe", { base64: urls[0] });
    else await submit("mj/submit/blend", { base64Array: urls, dimensions: $("blend-dims").value });
  } catch (err) {
    toast(err.message, true);
  }
}

// ---- one task: progress, image, buttons ----------------------------------------------------
function follow(taskId) {
  // On a task's own page the new task gets its own address; on the create page it shows below.
  if (location.hash.startsWith("#/task/")) location.hash = `#/task/${encodeURIComponent(taskId)}`;
  else watch(taskId);
}

function watch(taskId) {
  clearTimeout(state.timer);
  state.taskId = taskId;
  const tick = async () => {
    try {
      const { data } = await api(`mj/task/${encodeURIComponent(taskId)}/fetch`);
      if (state.taskId !== taskId) return;
      if (!data) { toast(`No task ${taskId}`, true); return; }
      await render(data);
      if (!TERMINAL.has(data.status)) state.timer = setTimeout(tick, 1000);
    } catch (err) {
      toast(err.message, true);
      if (state.taskId === taskId) state.timer = setTimeout(tick, 3000);
    }
  };
  tick();
}

const EMOJI_NAMES = { "🔄": "Reroll", "⬅️": "Pan Left", "➡️": "Pan Right", "⬆️": "Pan Up", "⬇️": "Pan Down" };
const CHANGE_FALLBACK = /^MJ::JOB::(upsample|variation|reroll)::(\d+)::/;

async function render(task) {
  state.task = task;
  $("task").hidden = false;
  $("task-id").textContent = task.id;
  $("task-action").textContent = task.action || "";
  const status = $("task-status");
  status.textContent = task.status;
  status.className = `badge ${task.status}`;
  const pct = percent(task);
  $("task-bar").style.width = `${pct}%`;
  $("task-progress").setAttribute("aria-valuenow", String(pct));
  $("task-progress-text").textContent = task.progress || task.status;
  $("task-prompt").textContent = task.action === "DESCRIBE" ? (task.description || "") : (task.prompt || task.description || "");
  $("task-fail").hidden = !task.failReason;
  $("task-fail").textContent = task.failReason || "";

  const img = $("task-image");
  $("task-figure").hidden = !task.imageUrl;
  if (task.imageUrl && img.dataset.src !== task.imageUrl) {
    img.dataset.src = task.imageUrl;
    img.src = task.imageUrl;
    img.alt = `${task.action || "Task"} ${task.status === "SUCCESS" ? "result" : "preview"}: ${task.prompt || ""}`.trim();
  }
  $("task-open").hidden = !task.imageUrl;
  if (task.imageUrl) $("task-open").href = task.imageUrl;

  const parts = $("task-parts");
  parts.replaceChildren();
  const urls = (task.imageUrls || []).map((u) => u.url).filter(Boolean);
  if (task.status === "SUCCESS" && urls.length > 1) {
    urls.forEach((url, i) => parts.append(el("a", { href: url, target: "_blank", rel: "noopener" },
      el("img", { src: url, alt: `Image ${i + 1}`, loading: "lazy" }))));
  }
  const describe = $("task-describe");
  describe.hidden = !(task.action === "DESCRIBE" && task.status === "SUCCESS");
  describe.textContent = describe.hidden ? "" : (task.prompt || (task.properties || {}).finalPrompt || "");

  const buttons = $("task-buttons");
  buttons.replaceChildren();
  if (task.status === "SUCCESS") {
    const plus = await hasRoute("mj/submit/action");
    for (const b of task.buttons || []) {
      // Without the plus action route only the grid buttons work (through /mj/submit/change).
      if (!plus && !CHANGE_FALLBACK.test(b.customId)) continue;
      // Emoji-only buttons get a word too: not every system font draws every emoji.
      const name = b.label || EMOJI_NAMES[b.emoji] || b.emoji || b.customId;
      const btn = el("button", { type: "button", "data-label": b.label || b.emoji, "data-custom-id": b.customId,
        title: b.customId }, `${b.emoji && name !== b.emoji ? `${b.emoji} ` : ""}${name}`);
      btn.addEventListener("click", () => press(task, b, btn));
      buttons.append(btn);
    }
  }
  if (task.status === "MODAL") {
    // A modal left unanswered (dialog closed, page reloaded): offer it again.
    const btn = el("button", { type: "button", class: "primary", id: "task-continue" }, "Continue…");
    btn.addEventListener("click", () => resumeModal(task));
    buttons.append(btn);
  }
  $("task-cancel").hidden = TERMINAL.has(task.status) || !(await hasRoute("mj/task/0/cancel"));
}

async function press(task, button, node) {
  node.disabled = true;
  try {
    if (await hasRoute("mj/submit/action")) {
      await submit("mj/submit/action", { taskId: task.id, customId: button.customId }, { button, parent: task });
    } else {
      const [, kind, index] = CHANGE_FALLBACK.exec(button.customId);
      const action = { upsample: "UPSCALE", variation: "VARIATION", reroll: "REROLL" }[kind];
      await submit("mj/submit/change", action === "REROLL" ? { taskId: task.id, action } : { taskId: task.id, action, index: Number(index) });
    }
  } catch (err) {
    toast(err.message, true);
  } finally {
    node.disabled = false;
  }
}

async function cancelTask() {
  if (!state.task) return;
  try {
    const { data } = await api(`mj/task/${encodeURIComponent(state.task.id)}/cancel`, { method: "POST" });
    if (data && data.code && data.code !== 1) toast(`${data.code}: ${data.description}`, true);
    watch(state.task.id);
  } catch (err) {
    toast(err.message, true);
  }
}

// ---- modal answers: Custom Zoom / remix prompt, Vary (Region) mask ----------------------------
const modal = { taskId: null, region: false, painted: false };

function openModal(taskId, button, parent) {
  const customId = (button && button.customId) || "";
  modal.taskId = taskId;
  modal.region = customId.includes("Inpaint");
  modal.painted = false;
  const basePrompt = ((parent && (parent.prompt || "")) || "").replace(/\s--zoom\s+\S+/g, "").trim();
  $("modal-title").textContent = (button && (button.label || button.emoji)) || "Confirm";
  $("mask-area").hidden = $("mask-tools").hidden = !modal.region;
  if (customId.includes("CustomZoom")) {
    $("modal-help").textContent = "Custom Zoom: the prompt must carry --zoom (1 to 2).";
    $("modal-prompt").value = `${basePrompt} --zoom 2`.trim();
  } else if (modal.region) {
    $("modal-help").textContent = "Paint the region to change, then describe what goes there.";
    $("modal-prompt").value = basePrompt;
    setupMask(parent && parent.imageUrl);
  } else {
    $("modal-help").textContent = "Edit the prompt (Remix) and submit.";
    $("modal-prompt").value = basePrompt;
  }
  $("modal-dialog").showModal();
  $("modal-prompt").focus();
}

async function resumeModal(task) {
  const customId = task.customId || (task.properties || {}).customId ||
    (task.action === "ZOOM" ? "MJ::CustomZoom" : task.action === "INPAINT" ? "MJ::Inpaint" : "");
  let parent = state.parents[task.id] || null;
  if (!parent && task.parentId) {
    parent = (await api(`mj/task/${encodeURIComponent(task.parentId)}/fetch`)).data;
  }
  openModal(task.id, { customId, label: task.action || "Confirm" }, parent || task);
}

function setupMask(imageUrl) {
  const img = $("mask-image");
  const canvas = $("mask-canvas");
  img.onload = () => {
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    canvas.getContext("2d").clearRect(0, 0, canvas.width, canvas.height);
  };
  img.src = imageUrl || "";
}

function paintAt(event) {
  const canvas = $("mask-canvas");
  const rect = canvas.getBoundingClientRect();
  const scale = canvas.width / rect.width;
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#fff";
  ctx.beginPath();
  ctx.arc((event.clientX - rect.left) * scale, (event.clientY - rect.top) * scale,
    (Number($("mask-brush").value) / 2) * scale, 0, Math.PI * 2);
  ctx.fill();
  modal.painted = true;
}

function maskDataUrl() {
  // White = the region to vary, black = keep (the painted layer is transparent elsewhere).
  const painted = $("mask-canvas");
  const out = el("canvas", { width: painted.width, height: painted.height });
  const ctx = out.getContext("2d");
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, out.width, out.height);
  ctx.drawImage(painted, 0, 0);
  return out.toDataURL("image/png");
}

async function onModalClose() {
  if ($("modal-dialog").returnValue !== "submit" || !modal.taskId) return;
  const body = { taskId: modal.taskId, prompt: $("modal-prompt").value.trim() };
  if (modal.region) {
    if (!modal.painted) { toast("Paint a region first", true); $("modal-dialog").showModal(); return; }
    body.maskBase64 = maskDataUrl();
  }
  try {
    await submit("mj/submit/modal", body);
  } catch (err) {
    toast(err.message, true);
  }
}

// ---- history gallery ----------------------------------------------------------------------
function resetHistory() {
  state.history = { items: [], cursor: null, done: false, loading: false };
  $("gallery").replaceChildren();
  $("history-end").hidden = true;
  $("more").hidden = false;
}

function matchesFilter(task) {
  const s = $("f-status").value;
  const a = $("f-action").value;
  return (!s || task.status === s) && (!a || task.action === a);
}

function card(task) {
  const thumb = el("div", { class: "thumb" },
    task.imageUrl ? el("img", { src: task.imageUrl, alt: "", loading: "lazy" }) : task.status);
  return el("li", {}, el("a", { href: `#/task/${task.id}`, "data-task-id": task.id },
    thumb,
    el("div", { class: "meta" },
      el("span", { class: `badge ${task.status}` }, task.status), " ",
      el("span", { class: "badge" }, task.action || ""),
      el("p", { title: task.prompt || task.description || "" }, task.prompt || task.description || ""),
      el("p", {}, when(task.submitTime)))));
}

function renderGallery() {
  $("gallery").replaceChildren(...state.history.items.filter(matchesFilter).map(card));
}

async function loadMore() {
  const h = state.history;
  if (!h || h.loading || h.done) return;
  h.loading = true;
  try {
    const query = new URLSearchParams({ pageSize: "24" });
    if (h.cursor) query.set("cursor", h.cursor);
    const { headers, data } = await api(`mj/task/list?${query}`);
    const fresh = (data || []).filter((t) => !h.items.some((x) => x.id === t.id));
    h.items.push(...fresh);
    $("gallery").append(...fresh.filter(matchesFilter).map(card));
    h.cursor = headers.get("X-Next-Cursor");
    h.done = !h.cursor;
    $("history-end").hidden = !h.done;
    $("more").hidden = h.done;
  } catch (err) {
    toast(err.message, true);
  } finally {
    h.loading = false;
  }
  // Keep filling while the sentinel is still on screen (a filter may hide a whole page).
  if (!h.done && isVisible($("more"))) loadMore();
}

function isVisible(node) {
  const r = node.getBoundingClientRect();
  return !node.hidden && r.top < window.innerHeight && r.bottom > 0;
}

// ---- secret dialog ------------------------------------------------------------------------
function openSecret() {
  const dialog = $("secret-dialog");
  if (dialog.open) return;
  $("secret-input").value = localStorage.getItem(SECRET_KEY) || "";
  dialog.showModal();
}

function onSecretClose() {
  const v = $("secret-dialog").returnValue;
  if (v === "save") localStorage.setItem(SECRET_KEY, $("secret-input").value.trim());
  if (v === "clear") localStorage.removeItem(SECRET_KEY);
  if (v === "save" || v === "clear") { toast(v === "save" ? "Secret saved in this browser" : "Secret forgotten"); route(); }
}

// ---- routing ------------------------------------------------------------------------------
let accountsTimer = null;

function route() {
  const hash = location.hash || "#/";
  const taskMatch = /^#\/task\/([^/]+)$/.exec(hash);
  const view = taskMatch ? "task" : hash === "#/history" ? "history" : hash === "#/accounts" ? "accounts" : "create";
  for (const section of document.querySelectorAll("[data-view]")) {
    section.hidden = !section.dataset.view.split(" ").includes(view);
  }
  for (const link of document.querySelectorAll("[data-nav]")) {
    if (link.dataset.nav === view) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  clearInterval(accountsTimer);
  if (taskMatch) watch(decodeURIComponent(taskMatch[1]));
  if (view === "history") { resetHistory(); loadMore(); }
  if (view === "accounts") { loadAccounts(); accountsTimer = setInterval(loadAccounts, 5000); }
}

function init() {
  $("imagine-form").addEventListener("submit", onImagine);
  $("imagine-form").addEventListener("input", () => { $("prompt-preview").textContent = composedPrompt(); });
  $("prompt").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) $("imagine-form").requestSubmit();
  });
  const drop = $("drop");
  drop.addEventListener("click", (e) => { if (e.target === drop || e.target.tagName === "P" || e.target.tagName === "STRONG") $("file-input").click(); });
  drop.addEventListener("keydown", (e) => {
    if ((e.key === "Enter" || e.key === " ") && e.target === drop) { e.preventDefault(); $("file-input").click(); }
  });
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); onFiles(e.dataTransfer.files); });
  $("file-input").addEventListener("change", (e) => { onFiles(e.target.files); e.target.value = ""; });
  $("task-copy").addEventListener("click", async () => {
    if (state.task) { await copyText(JSON.stringify(state.task, null, 2)); toast("Task JSON copied"); }
  });
  $("task-cancel").addEventListener("click", cancelTask);
  $("secret-open").addEventListener("click", openSecret);
  $("secret-dialog").addEventListener("close", onSecretClose);
  $("modal-dialog").addEventListener("close", onModalClose);
  const canvas = $("mask-canvas");
  canvas.addEventListener("pointerdown", (e) => { canvas.setPointerCapture(e.pointerId); paintAt(e); });
  canvas.addEventListener("pointermove", (e) => { if (e.buttons & 1) paintAt(e); });
  $("mask-clear").addEventListener("click", () => {
    canvas.getContext("2d").clearRect(0, 0, canvas.width, canvas.height);
    modal.painted = false;
  });
  $("f-status").addEventListener("change", () => { renderGallery(); loadMore(); });
  $("f-action").addEventListener("change", () => { renderGallery(); loadMore(); });
  $("more").addEventListener("click", loadMore);
  new IntersectionObserver((entries) => { if (entries.some((e) => e.isIntersecting)) loadMore(); })
    .observe($("more"));
  $("prompt-preview").textContent = composedPrompt();
  window.addEventListener("hashchange", route);
  route();
}

document.addEventListener("DOMContentLoaded", init);
