// The page's controller: what is shown (hash routes), loading from the
// control API, live refresh on server-sent events, and acting as a user.

import { api, parseDeepLink } from "./api.js";
import { h, fill, avatar, clock } from "./dom.js";
import { timeline, previewText } from "./render.js";
import { botPanel, formDialog } from "./panels.js";

// Set once per page load: a test can tell that live changes came without a reload.
window.__loadId = `${Date.now()}-${Math.random().toString(36).slice(2)}`;

/** How long a pressed button spins when the bot never answers (Telegram: about 15 s). */
const PRESS_TIMEOUT_MS = 15000;
const TOAST_MS = 6000;

const state = {
  overview: null,
  // Not a route: the first applyRoute() always builds the page.
  view: { kind: "init" },
  conv: null,
  primedFor: null,
  seenAnswers: new Set(),
  pending: new Map(),
  rawOpen: new Set(),
  replyTo: null,
  actAs: null,
  filter: "",
};

const $ = (id) => document.getElementById(id);
const els = {};

// ---- routing ---------------------------------------------------------------

function parseHash() {
  const parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  if (parts[0] === "bot" && parts[1] && parts[2] === "chat" && parts[3] && /^-?\d+$/.test(parts[3])) {
    return { kind: "chat", bot: parts[1], chatId: Number(parts[3]) };
  }
  if (parts[0] === "bot" && parts[1]) return { kind: "bot", bot: parts[1] };
  return { kind: "none" };
}

function go(view) {
  const hash =
    view.kind === "chat"
      ? `#/bot/${encodeURIComponent(view.bot)}/chat/${view.chatId}`
      : view.kind === "bot"
        ? `#/bot/${encodeURIComponent(view.bot)}`
        : "#/";
  if (location.hash !== hash) location.hash = hash;
  else applyRoute();
}

function sameView(a, b) {
  return a.kind === b.kind && a.bot === b.bot && a.chatId === b.chatId;
}

function applyRoute() {
  const view = parseHash();
  if (sameView(view, state.view)) return;
  state.view = view;
  state.conv = null;
  state.replyTo = null;
  state.rawOpen.clear();
  buildMain();
  renderSidebar();
  refresh();
}

// ---- toasts ----------------------------------------------------------------

function toast(text, { alert = false, error = false } = {}) {
  const el = h("div", { class: `toast${alert ? " alert" : ""}${error ? " error" : ""}`, role: alert || error ? "alert" : "status" }, h("span", { class: "toast-text" }, text));
  if (alert) {
    el.append(h("button", { type: "button", class: "toast-ok", onclick: () => el.remove() }, "OK"));
  } else {
    setTimeout(() => el.remove(), TOAST_MS);
  }
  els.toasts.append(el);
}

async function attempt(action) {
  try {
    return await action();
  } catch (error) {
    toast(error.message || String(error), { error: true });
    return undefined;
  }
}

// ---- live refresh ----------------------------------------------------------

let refreshing = false;
let refreshAgain = false;
let refreshTimer = null;

function scheduleRefresh() {
  if (refreshTimer !== null) return;
  refreshTimer = setTimeout(() => {
    refreshTimer = null;
    refresh();
  }, 30);
}

async function refresh() {
  if (refreshing) {
    refreshAgain = true;
    return;
  }
  refreshing = true;
  try {
    do {
      refreshAgain = false;
      await load();
    } while (refreshAgain);
  } catch (error) {
    console.warn("refresh failed", error);
  } finally {
    refreshing = false;
  }
}

async function load() {
  state.overview = await api.overview();
  renderSidebar();
  const view = state.view;
  if (view.kind === "chat") {
    const conv = await api.conversation(view.bot, view.chatId).catch((error) => ({ error: error.message }));
    if (!sameView(view, state.view)) return;
    state.conv = conv;
    takeAnswers(conv);
    renderChat();
    const summary = chatSummary(view.bot, view.chatId);
    if (summary && summary.unread > 0 && document.visibilityState === "visible") {
      api.markRead(view.bot, view.chatId).catch(() => {});
    }
  } else if (view.kind === "bot") {
    const bot = findBot(view.bot);
    if (!bot) {
      fill(els.main, h("div", { class: "empty" }, `No bot @${view.bot}`));
      return;
    }
    const [deliveries, limits] = await Promise.all([api.deliveries(bot.username), api.limits(bot.username)]);
    if (!sameView(view, state.view)) return;
    const scroll = els.main.querySelector(".panel-body")?.scrollTop || 0;
    fill(els.main, botPanel({ bot, deliveries, limits }, () => go({ kind: "none" })));
    const body = els.main.querySelector(".panel-body");
    if (body) body.scrollTop = scroll;
  }
}

/** New button answers become toasts; the pressed buttons stop spinning. */
function takeAnswers(conv) {
  const key = `${state.view.bot}/${state.view.chatId}`;
  const primed = state.primedFor === key;
  for (const answer of conv.answers || []) {
    const id = answer.callback_query_id;
    if (state.seenAnswers.has(id)) continue;
    state.seenAnswers.add(id);
    for (const [pressKey, pressed] of state.pending) {
      if (pressed.queryId === id) state.pending.delete(pressKey);
    }
    if (primed && answer.text) toast(answer.text, { alert: Boolean(answer.show_alert) });
  }
  state.primedFor = key;
}

function connectEvents() {
  const source = new EventSource("/sandbox/events");
  source.addEventListener("ready", () => {
    els.live.classList.add("on");
    els.live.title = "Live: changes appear as they happen";
    scheduleRefresh();
  });
  source.addEventListener("change", scheduleRefresh);
  source.addEventListener("error", () => {
    els.live.classList.remove("on");
    els.live.title = "Reconnecting…";
  });
}

// ---- sidebar ---------------------------------------------------------------

function findBot(username) {
  const wanted = String(username || "").toLowerCase();
  return state.overview?.bots.find((b) => b.username.toLowerCase() === wanted) || null;
}

function chatSummary(bot, chatId) {
  return findBot(bot)?.chats.find((c) => c.chat_id === chatId) || null;
}

function chatStatus(chat) {
  if (chat.type === "private") {
    if (chat.blocked) return "blocked the bot";
    if (!chat.started) return "has not started the bot";
    return chat.username ? `@${chat.username}` : "private chat";
  }
  if (chat.migrated_to) return "upgraded to a supergroup";
  return chat.bot_member ? chat.type : `${chat.type} · bot removed`;
}

function chatItem(bot, chat) {
  const active = state.view.kind === "chat" && state.view.bot === bot.username && state.view.chatId === chat.chat_id;
  return h(
    "li",
    {},
    h(
      "a",
      {
        class: `chat-item${active ? " active" : ""}`,
        href: `#/bot/${encodeURIComponent(bot.username)}/chat/${chat.chat_id}`,
        "data-key": `${bot.username}:${chat.chat_id}`,
        "data-chat-id": chat.chat_id,
        "aria-current": active ? "page" : null,
      },
      avatar(chat.title, chat.chat_id),
      h(
        "span",
        { class: "chat-item-body" },
        h("span", { class: "chat-item-top" }, h("span", { class: `chat-item-title${chat.type === "private" ? "" : " group"}` }, chat.title), h("time", { class: "chat-item-time" }, clock(chat.last_date))),
        h(
          "span",
          { class: "chat-item-bottom" },
          h("span", { class: "chat-item-preview" }, chat.last_text ? `${chat.last_from_bot ? "" : "You: "}${chat.last_text}` : chatStatus(chat)),
          chat.violations ? h("span", { class: "violation-badge", title: `${chat.violations} limit violations` }, "429") : null,
          chat.unread ? h("span", { class: "unread", "aria-label": `${chat.unread} unread` }, String(chat.unread)) : null,
        ),
      ),
    ),
  );
}

function webhookPill(bot) {
  if (bot.webhook?.url && bot.last_delivery_ok === false) return h("span", { class: "pill bad", title: bot.webhook.last_error_message }, "webhook failing");
  if (bot.webhook?.url) return h("span", { class: "pill good", title: bot.webhook.url }, "webhook");
  return h("span", { class: "pill", title: "no webhook: getUpdates" }, "polling");
}

function renderSidebar() {
  if (!state.overview) return;
  const focusedKey = document.activeElement?.closest?.("#bots [data-key]")?.dataset.key;
  const filter = state.filter.toLowerCase();
  const matches = (bot, chat) =>
    !filter ||
    bot.username.toLowerCase().includes(filter) ||
    chat.title.toLowerCase().includes(filter) ||
    (chat.username || "").toLowerCase().includes(filter) ||
    chat.last_text.toLowerCase().includes(filter) ||
    String(chat.chat_id).includes(filter);
  const bots = state.overview.bots.map((bot) => {
    const chats = bot.chats.filter((chat) => matches(bot, chat));
    const activeBot = state.view.kind === "bot" && state.view.bot === bot.username;
    return h(
      "section",
      { class: "bot-block", "data-bot": bot.username },
      h(
        "a",
        { class: `bot-head${activeBot ? " active" : ""}`, href: `#/bot/${encodeURIComponent(bot.username)}`, "data-key": `bot:${bot.username}`, title: "Webhook, deliveries and rate limits" },
        avatar(bot.first_name, bot.id, "small"),
        h("span", { class: "bot-name" }, bot.first_name === bot.username ? `@${bot.username}` : [h("span", {}, bot.first_name), h("span", { class: "muted" }, ` @${bot.username}`)]),
        bot.violations ? h("span", { class: "violation-badge", title: `${bot.violations} limit violations` }, String(bot.violations)) : null,
        webhookPill(bot),
      ),
      chats.length
        ? h("ul", { class: "chat-list" }, chats.map((chat) => chatItem(bot, chat)))
        : h("p", { class: "muted small pad" }, filter ? "No chat matches." : "No chats yet: create a user and paste a t.me link."),
    );
  });
  fill(els.bots, bots.length ? bots : h("p", { class: "muted pad" }, "No bots yet."));
  if (focusedKey) {
    const again = Array.from(els.bots.querySelectorAll("[data-key]")).find((el) => el.dataset.key === focusedKey);
    if (again) again.focus();
  }
  els.app.classList.toggle("view-open", state.view.kind !== "none");
}

// ---- the conversation ------------------------------------------------------

function buildMain() {
  const view = state.view;
  if (view.kind === "none") {
    fill(els.main, h("div", { class: "empty" }, h("div", { class: "empty-card" }, h("h2", {}, "Telegram sandbox"), h("p", {}, "Pick a chat on the left, or create a user and paste a t.me deep link."))));
    return;
  }
  if (view.kind === "bot") {
    fill(els.main, h("div", { class: "empty" }, "Loading…"));
    return;
  }
  els.chatHead = h("header", { class: "chat-head" });
  els.messages = h("div", { class: "messages", id: "messages", role: "log", "aria-live": "polite", "aria-label": "Messages" });
  els.bars = h("div", { class: "bars" });
  els.menu = h("div", { class: "command-menu", hidden: true, role: "menu" });
  els.composer = h("textarea", { id: "composer", rows: "1", placeholder: "Message", "aria-label": "Message", autocomplete: "off", enterkeyhint: "send" });
  els.menuButton = h("button", { type: "button", class: "menu-button", hidden: true, "aria-haspopup": "menu", onclick: toggleMenu }, "Menu");
  els.actAs = h("select", { class: "act-as", hidden: true, "aria-label": "Write as", onchange: () => (state.actAs = Number(els.actAs.value)) });
  const form = h(
    "form",
    { class: "composer", onsubmit: onSubmit },
    els.menuButton,
    els.actAs,
    els.composer,
    h("button", { type: "submit", class: "send", "aria-label": "Send", title: "Send (Enter)" }, "➤"),
  );
  els.composer.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    } else if (event.key === "Escape") {
      state.replyTo = null;
      els.menu.hidden = true;
      renderBars();
    }
  });
  els.composer.addEventListener("input", autoGrow);
  fill(els.main, h("section", { class: "chat" }, els.chatHead, els.messages, h("div", { class: "composer-area" }, els.menu, els.bars, form)));
}

function autoGrow() {
  els.composer.style.height = "auto";
  els.composer.style.height = `${Math.min(els.composer.scrollHeight, 160)}px`;
}

function toggleMenu() {
  els.menu.hidden = !els.menu.hidden;
}

function groupMembers() {
  return state.conv?.membership?.members || [];
}

function renderChat() {
  const conv = state.conv;
  const view = state.view;
  if (!els.messages || !conv) return;
  if (conv.error) {
    fill(els.chatHead, h("button", { type: "button", class: "icon-button back", "aria-label": "Back to chats", onclick: () => go({ kind: "none" }) }, "←"), h("div", { class: "chat-title" }, h("div", { class: "name" }, conv.error)));
    els.messages.replaceChildren();
    return;
  }
  const isGroup = view.chatId < 0;
  if (isGroup) {
    const members = groupMembers();
    if (!members.some((m) => m.id === state.actAs)) state.actAs = members[0]?.id ?? null;
    fill(els.actAs, members.map((m) => h("option", { value: m.id, selected: m.id === state.actAs }, m.first_name)));
    els.actAs.hidden = members.length === 0;
  }
  renderHead(conv, isGroup);
  renderMessages(conv, isGroup);
  renderBars();
  const commands = conv.commands || [];
  els.menuButton.hidden = commands.length === 0;
  fill(
    els.menu,
    commands.map((c) =>
      h(
        "button",
        { type: "button", class: "command", role: "menuitem", onclick: () => { els.menu.hidden = true; send(`/${c.command}`); } },
        h("span", { class: "command-name" }, `/${c.command}`),
        h("span", { class: "command-description" }, c.description),
      ),
    ),
  );
}

function renderHead(conv, isGroup) {
  const membership = conv.membership || {};
  const bot = conv.bot;
  const actions = [];
  let status;
  if (!isGroup) {
    status = membership.blocked ? "blocked the bot" : membership.started ? "bot" : "has not started the bot";
    actions.push(
      membership.blocked
        ? h("button", { type: "button", class: "secondary", onclick: () => attempt(() => api.unblock(view().chatId, bot)) }, "Unblock bot")
        : h("button", { type: "button", class: "secondary", onclick: () => attempt(() => api.block(view().chatId, bot)) }, "Block bot"),
    );
  } else {
    status = `${conv.chat.type} · ${(membership.members || []).length} members · bot ${membership.bot_status === "member" ? "in the group" : "not in the group"}`;
    if (!membership.migrated_to) {
      if (membership.bot_status === "member") {
        actions.push(h("button", { type: "button", class: "secondary", onclick: () => attempt(() => api.removeBot(view().chatId, bot, state.actAs)) }, "Remove bot"));
      } else {
        actions.push(h("button", { type: "button", class: "secondary", onclick: () => attempt(() => api.addBot(view().chatId, bot, state.actAs, null)) }, "Add bot"));
      }
      actions.push(h("button", { type: "button", class: "secondary", onclick: addOtherBot }, "Add another bot"));
      if (conv.chat.type === "group") {
        actions.push(h("button", { type: "button", class: "secondary", onclick: () => attempt(() => api.migrate(view().chatId, state.actAs)) }, "Upgrade to supergroup"));
      }
    }
  }
  fill(
    els.chatHead,
    h("button", { type: "button", class: "icon-button back", "aria-label": "Back to chats", onclick: () => go({ kind: "none" }) }, "←"),
    avatar(conv.chat.title, conv.chat.id),
    h("div", { class: "chat-title" }, h("div", { class: "name" }, conv.chat.title), h("div", { class: "status" }, `${status} · with @${bot}`)),
    h("div", { class: "head-actions" }, actions, h("a", { class: "secondary button-link", href: `#/bot/${encodeURIComponent(bot)}` }, "Bot info")),
  );
}

function view() {
  return state.view;
}

function renderMessages(conv, isGroup) {
  const box = els.messages;
  const nearBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80 || !box.dataset.rendered;
  const ctx = {
    isGroup,
    canDelete: !isGroup,
    pending: state.pending,
    rawOpen: state.rawOpen,
    onPress: press,
    onCommand: (command) => send(command),
    onReply: (item) => {
      state.replyTo = item;
      renderBars();
      els.composer.focus();
    },
    onDelete: (items) => attempt(async () => {
      for (const item of items) await api.deleteMessage(view().chatId, conv.bot, item.message_id);
    }),
    onToggleRaw: (key) => {
      if (state.rawOpen.has(key)) state.rawOpen.delete(key);
      else state.rawOpen.add(key);
      renderMessages(state.conv, isGroup);
    },
    onJump: (messageId) => {
      const row = Array.from(box.querySelectorAll("[data-message-ids]")).find((r) => r.dataset.messageIds.split(",").includes(String(messageId)));
      if (row) {
        row.scrollIntoView({ block: "center", behavior: "smooth" });
        row.classList.add("flash");
        setTimeout(() => row.classList.remove("flash"), 1200);
      }
    },
  };
  const old = new Map(Array.from(box.children).map((node) => [node.dataset.key, node]));
  const nodes = timeline(conv, ctx).map((entry) => {
    const existing = old.get(entry.key);
    if (existing && existing.dataset.sig === entry.sig) return existing;
    const node = entry.build();
    node.dataset.key = entry.key;
    node.dataset.sig = entry.sig;
    return node;
  });
  if (nodes.length === 0) {
    nodes.push(h("div", { class: "row service" }, h("span", { class: "service-pill" }, isGroup ? "No messages here yet" : "No messages yet: press START or paste a t.me link below")));
  }
  box.replaceChildren(...nodes);
  box.dataset.rendered = "1";
  if (nearBottom) {
    box.scrollTop = box.scrollHeight;
    // Fonts and images may still grow the list; stay at the newest message.
    requestAnimationFrame(() => (box.scrollTop = box.scrollHeight));
  }
}

function renderBars() {
  if (!els.bars || !state.conv || state.conv.error) return;
  const conv = state.conv;
  const bars = [];
  const membership = conv.membership || {};
  if (state.view.chatId > 0 && membership.blocked) {
    bars.push(h("div", { class: "bar-line warn" }, "You blocked this bot. ", h("button", { type: "button", class: "link-button", onclick: () => attempt(() => api.unblock(view().chatId, conv.bot)) }, "Unblock")));
  } else if (state.view.chatId > 0 && !membership.started) {
    bars.push(h("button", { type: "button", class: "start-button", onclick: () => send("/start") }, "START"));
  }
  if (membership.migrated_to) {
    bars.push(h("div", { class: "bar-line" }, "This group was upgraded. ", h("a", { href: `#/bot/${encodeURIComponent(conv.bot)}/chat/${membership.migrated_to}` }, "Open the supergroup")));
  }
  if (state.replyTo) {
    bars.push(
      h(
        "div",
        { class: "reply-bar" },
        h("span", { class: "reply-bar-text" }, h("strong", {}, "Reply to "), previewText(state.replyTo.message)),
        h("button", { type: "button", class: "icon-button", "aria-label": "Cancel the reply", onclick: () => { state.replyTo = null; renderBars(); } }, "×"),
      ),
    );
  }
  fill(els.bars, bars);
}

async function press(item, button) {
  const chatId = state.view.chatId;
  const userId = chatId > 0 ? chatId : state.actAs;
  const key = `${item.message_id}:${button.callback_data}`;
  state.pending.set(key, { queryId: null });
  renderMessages(state.conv, chatId < 0);
  const pressed = await attempt(() => api.press(userId, state.conv.bot, chatId, item.message_id, button.callback_data));
  if (!pressed) {
    state.pending.delete(key);
  } else if (state.seenAnswers.has(pressed.callback_query_id)) {
    // Answered before this call returned.
    state.pending.delete(key);
  } else {
    state.pending.set(key, { queryId: pressed.callback_query_id });
    setTimeout(() => {
      if (state.pending.get(key)?.queryId === pressed.callback_query_id) {
        state.pending.delete(key);
        if (state.conv) renderMessages(state.conv, state.view.chatId < 0);
      }
    }, PRESS_TIMEOUT_MS);
  }
  if (state.conv) renderMessages(state.conv, chatId < 0);
}

async function onSubmit(event) {
  event.preventDefault();
  const text = els.composer.value;
  if (!text.trim()) return;
  const sent = await send(text);
  if (sent) {
    els.composer.value = "";
    autoGrow();
  }
  els.composer.focus();
}

/** Acts on what was typed: a t.me link, /start, or a message. True when done. */
async function send(text) {
  const v = state.view;
  const conv = state.conv;
  if (v.kind !== "chat" || !conv || conv.error) return false;
  const link = parseDeepLink(text);
  const userId = v.chatId > 0 ? v.chatId : state.actAs;
  if (link) {
    const bot = findBot(link.bot);
    if (!bot) {
      toast(`No bot @${link.bot} in this sandbox`, { error: true });
      return false;
    }
    if (link.kind === "start") {
      const done = await attempt(() => api.start(userId, bot.username, link.payload || null));
      if (done) go({ kind: "chat", bot: bot.username, chatId: userId });
      return Boolean(done);
    }
    if (v.chatId > 0) {
      toast("A startgroup link adds the bot to a group: open the group first", { error: true });
      return false;
    }
    return Boolean(await attempt(() => api.addBot(v.chatId, bot.username, state.actAs, link.payload || null)));
  }
  const replyTo = state.replyTo?.message_id ?? null;
  let done;
  if (v.chatId > 0) {
    const start = /^\/start(?:@[A-Za-z0-9_]+)?(?:\s+([A-Za-z0-9_-]{1,64}))?\s*$/.exec(text.trim());
    if (start && (!conv.membership.started || conv.membership.blocked || start[1])) {
      done = await attempt(() => api.start(userId, conv.bot, start[1] || null));
    } else {
      done = await attempt(() => api.write(userId, conv.bot, text, replyTo));
    }
  } else {
    done = await attempt(() => api.groupWrite(v.chatId, state.actAs, text, replyTo));
  }
  if (done) {
    state.replyTo = null;
    renderBars();
  }
  return Boolean(done);
}

async function addOtherBot() {
  const inGroup = new Set(state.overview.groups.find((g) => g.chat_id === state.view.chatId)?.bots || []);
  const options = state.overview.bots.filter((b) => !inGroup.has(b.username)).map((b) => ({ value: b.username, label: `@${b.username}` }));
  if (options.length === 0) {
    toast("Every bot is in this group already");
    return;
  }
  const values = await formDialog(els.dialog, "Add a bot to the group", [{ name: "bot", label: "Bot", type: "select", options }, { name: "payload", label: "Start payload (optional)", placeholder: "as in ?startgroup=" }], "Add");
  if (!values) return;
  const done = await attempt(() => api.addBot(state.view.chatId, values.bot, state.actAs, values.payload || null));
  if (done) go({ kind: "chat", bot: values.bot, chatId: state.view.chatId });
}

// ---- sidebar actions -------------------------------------------------------

async function newUser() {
  const bots = state.overview?.bots || [];
  const values = await formDialog(
    els.dialog,
    "New user",
    [
      { name: "first_name", label: "First name", required: true, placeholder: "Ann" },
      { name: "last_name", label: "Last name" },
      { name: "username", label: "Username", placeholder: "without @" },
      { name: "language_code", label: "Language", placeholder: "en" },
      { name: "bot", label: "Open a chat with", type: "select", options: bots.map((b) => ({ value: b.username, label: `@${b.username}` })) },
    ],
    "Create",
  );
  if (!values) return;
  const user = await attempt(() =>
    api.createUser({ first_name: values.first_name, last_name: values.last_name || null, username: values.username || null, language_code: values.language_code || null }),
  );
  if (!user) return;
  if (values.bot) {
    go({ kind: "chat", bot: values.bot, chatId: user.user_id });
    els.composer?.focus();
  } else {
    toast(`User ${user.user_id} created`);
  }
}

async function newGroup() {
  const users = state.overview?.users || [];
  const bots = state.overview?.bots || [];
  const values = await formDialog(
    els.dialog,
    "New group",
    [
      { name: "title", label: "Title", required: true, placeholder: "Ops" },
      { name: "kind", label: "Kind", type: "select", options: [{ value: "group", label: "Basic group" }, { value: "supergroup", label: "Supergroup" }] },
      { name: "members", label: "Members", type: "checkboxes", empty: "Create users first", options: users.map((u, i) => ({ value: u.id, label: u.first_name, checked: i === users.length - 1 })) },
      { name: "bot", label: "Add bot", type: "select", options: [{ value: "", label: "none" }, ...bots.map((b) => ({ value: b.username, label: `@${b.username}` }))] },
    ],
    "Create",
  );
  if (!values) return;
  const members = values.members.map(Number);
  const group = await attempt(() => api.createGroup({ title: values.title, kind: values.kind, members }));
  if (!group) return;
  if (values.bot) {
    const added = await attempt(() => api.addBot(group.chat_id, values.bot, members[0] ?? null, null));
    if (added) go({ kind: "chat", bot: values.bot, chatId: group.chat_id });
  } else {
    toast(`Group ${group.chat_id} created: add a bot to see it here`);
  }
}

async function resetAll() {
  const values = await formDialog(els.dialog, "Reset the sandbox?", [{ name: "confirm", label: "Forgets every user, group, chat and record; bots keep their tokens and webhooks. Type RESET to confirm." }], "Reset");
  if (!values) return;
  if (values.confirm !== "RESET") {
    toast("Not reset: type RESET to confirm", { error: true });
    return;
  }
  if (await attempt(() => api.reset())) {
    state.seenAnswers.clear();
    state.pending.clear();
    go({ kind: "none" });
    toast("Everything was reset");
  }
}

// ---- start -----------------------------------------------------------------

function init() {
  for (const id of ["app", "bots", "main", "toasts", "dialog", "live", "filter"]) els[id] = $(id);
  els.filter.addEventListener("input", () => {
    state.filter = els.filter.value;
    renderSidebar();
  });
  $("new-user").addEventListener("click", newUser);
  $("new-group").addEventListener("click", newGroup);
  $("reset").addEventListener("click", resetAll);
  $("skip").addEventListener("click", (event) => {
    event.preventDefault();
    if (els.composer && document.body.contains(els.composer)) els.composer.focus();
    else els.filter.focus();
  });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") scheduleRefresh();
  });
  window.addEventListener("hashchange", applyRoute);
  applyRoute();
  connectEvents();
}

init();
