// The playground's chat: polls the state, renders one person's chat, sends what they type or press.
"use strict";
let chat = null;
let state = null;
const $ = (id) => document.getElementById(id);

async function post(path, body) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Playground": "1" },
    body: JSON.stringify(body),
  });
  if (!response.ok) alert(await response.text());
  return response;
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

// Text is shown as text; t.me deep links to this bot open the chat with /start <payload>.
function richText(text) {
  const out = document.createDocumentFragment();
  const link = /https:\/\/t\.me\/(\w+)\?start=([\w-]+)/g;
  let last = 0;
  for (const match of text.matchAll(link)) {
    out.append(text.slice(last, match.index));
    const payload = match[2];
    out.append(el("a", { href: "#", onclick: (e) => { e.preventDefault(); post("/api/send", { chat, text: `/start ${payload}` }); } }, match[0]));
    last = match.index + match[0].length;
  }
  out.append(text.slice(last));
  return out;
}

function keyboard(message) {
  const rows = (message.reply_markup || {}).inline_keyboard;
  if (!rows) return "";
  const box = el("div", { class: "keyboard" });
  for (const row of rows) {
    const line = el("div", { class: "row" });
    for (const button of row) {
      if (button.callback_data !== undefined) {
        line.append(el("button", { onclick: () => post("/api/press", { chat, message_id: message.message_id, data: button.callback_data }) }, button.text));
      } else if (button.url) {
        const deep = /https:\/\/t\.me\/\w+\?start=([\w-]+)/.exec(button.url);
        line.append(deep
          ? el("button", { onclick: () => post("/api/send", { chat, text: `/start ${deep[1]}` }) }, button.text)
          : el("a", { href: button.url, target: "_blank", rel: "noopener" }, button.text));
      } else {
        line.append(el("button", { disabled: "" }, button.text));
      }
    }
    box.append(line);
  }
  return box;
}

function scanButton(message) {
  const target = el("select", {});
  for (const person of state.personas) target.append(el("option", { value: person.id }, person.name));
  return el("div", {}, el("button", { class: "scan", onclick: () => post("/api/scan", { from_chat: chat, chat: Number(target.value), message_id: message.message_id }).then(() => select(Number(target.value))) }, "📷 Scan this QR as"), " ", target);
}

function renderMessage(message) {
  const mine = !(message.from && message.from.is_bot);
  const box = el("div", { class: mine ? "msg me" : "msg", "data-id": message.message_id });
  if (message.photo) {
    const id = message.photo[message.photo.length - 1].file_id;
    box.append(el("a", { href: `/file/${id}?inline=1`, target: "_blank" }, el("img", { src: `/file/${id}?inline=1`, alt: "photo" })));
  }
  if (message.document) {
    const doc = message.document;
    box.append(el("div", { class: "doc" }, "📄", el("a", { href: `/file/${doc.file_id}`, download: doc.file_name || "file" }, doc.file_name || "file")));
  }
  const text = message.text || message.caption || "";
  if (message.html) {
    // Built server-side from a whitelist of inert tags with every text escaped (safe_html).
    const formatted = el("div", {});
    formatted.innerHTML = message.html;
    box.append(formatted);
  } else if (text) box.append(el("div", {}, richText(text)));
  if (message.photo) box.append(scanButton(message));
  box.append(keyboard(message));
  // The bot's local time (QUETMA_TZ), as the people in the chat would read it.
  const when = new Date((message.date + state.utc_offset) * 1000);
  box.prepend(el("span", { class: "time" }, when.toISOString().slice(11, 16)));
  return box;
}

function renderPeople() {
  const nav = $("people");
  nav.replaceChildren();
  for (const person of state.personas) {
    nav.append(el("button", { class: person.id === chat ? "active" : "", onclick: () => select(person.id) }, person.name, el("small", {}, `${person.role} · ${person.lang}`)));
  }
  nav.append(el("button", { onclick: async () => { const name = prompt("Name"); if (name !== null) { const r = await post("/api/person", { name }); select((await r.json()).id); } } }, "➕ Add a person"));
}

let shown = "";
async function refresh() {
  const response = await fetch(`/api/state?chat=${chat || ""}`);
  if (!response.ok) return;
  state = await response.json();
  if (chat === null) chat = state.personas[0].id;
  const me = state.personas.find((p) => p.id === chat);
  $("clock").textContent = `🕘 ${state.clock}`;
  $("chat-title").textContent = `${me.name} (${me.role}) ↔ @${state.bot.username}`;
  $("lang").value = me.lang;
  $("dashboard").hidden = me.role !== "official";
  const demo = state.demo;
  $("demo-progress").textContent = demo.total ? `${Math.round((100 * demo.done) / demo.total)}% ${demo.message}` : "";
  renderPeople();
  const key = JSON.stringify(state.messages);
  if (key !== shown) {
    shown = key;
    const box = $("messages");
    box.replaceChildren(...state.messages.map(renderMessage));
    box.scrollTop = box.scrollHeight;
  }
  const menu = $("menu");
  menu.replaceChildren(...state.commands.map((c) => el("button", { onclick: () => { post("/api/send", { chat, text: `/${c.command}` }); menu.hidden = true; } }, el("b", {}, `/${c.command}`), c.description)));
}

async function refreshInspector() {
  const response = await fetch("/api/inspector");
  if (!response.ok) return;
  const data = await response.json();
  const items = [];
  for (const call of data.calls.slice().reverse()) {
    items.push(el("div", { class: call.status === 200 ? "" : "bad" }, `→ ${call.method} [${call.status}]`));
    items.push(el("pre", {}, JSON.stringify(call.params, null, 1)));
  }
  for (const update of data.updates.slice().reverse().slice(0, 10)) {
    items.push(el("div", {}, `← update ${update.update_id}`), el("pre", {}, JSON.stringify(update, null, 1)));
  }
  $("calls").replaceChildren(...items);
}

function select(id) { chat = id; shown = ""; refresh(); }

$("composer").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("text").value.trim();
  if (!text) return;
  $("text").value = "";
  post("/api/send", { chat, text }).then(refresh);
});
$("menu-button").addEventListener("click", () => { $("menu").hidden = !$("menu").hidden; });
$("lang").addEventListener("change", () => post("/api/lang", { chat, lang: $("lang").value }).then(refresh));
$("demo").addEventListener("click", () => post("/api/demo", {}));
$("dashboard").addEventListener("click", (event) => { event.preventDefault(); post("/api/send", { chat, text: "/dashboard" }); });
for (const button of document.querySelectorAll("[data-clock]")) {
  button.addEventListener("click", () => post("/api/clock", { to: button.dataset.clock }).then(refresh));
}
refresh();
setInterval(refresh, 1000);
setInterval(refreshInspector, 2000);
