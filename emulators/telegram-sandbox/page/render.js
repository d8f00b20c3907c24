// One conversation as Telegram shows it: bubbles (bot on the left, users on
// the right), albums grouped, media, replies with their quoted original,
// inline keyboards, "edited" marks, service messages, failed calls and limit
// violations, and the raw Bot API call behind each message.

import { h, clock, preciseClock } from "./dom.js";
import { renderEntities, safeHref } from "./entities.js";

const MEDIA_KINDS = ["photo", "video", "animation", "document", "audio", "voice"];

/** The media field a message carries, if any. */
export function mediaKind(message) {
  return MEDIA_KINDS.find((kind) => message[kind] !== undefined) || null;
}

function displayName(user) {
  if (!user) return "";
  return [user.first_name, user.last_name].filter(Boolean).join(" ") || user.username || String(user.id);
}

function humanSize(bytes) {
  const n = Number(bytes) || 0;
  if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${n} B`;
}

function duration(seconds) {
  const s = Math.max(0, Math.round(Number(seconds) || 0));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

/** A drawn stand-in for a photo whose bytes the sandbox lacks (sent by URL, by a user, or evicted), with its real proportions. */
function photoImage(width, height, label) {
  const w = Math.max(1, Math.round(Number(width) || 320));
  const hgt = Math.max(1, Math.round(Number(height) || 240));
  const hue = (w * 7 + hgt * 13) % 360;
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${w} ${hgt}">` +
    `<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1">` +
    `<stop offset="0" stop-color="hsl(${hue},55%,62%)"/><stop offset="1" stop-color="hsl(${(hue + 60) % 360},60%,40%)"/>` +
    `</linearGradient></defs><rect width="${w}" height="${hgt}" fill="url(#g)"/>` +
    `<circle cx="${w * 0.72}" cy="${hgt * 0.3}" r="${Math.min(w, hgt) * 0.09}" fill="rgba(255,255,255,.75)"/>` +
    `<path d="M0 ${hgt} L${w * 0.35} ${hgt * 0.45} L${w * 0.6} ${hgt * 0.78} L${w * 0.78} ${hgt * 0.6} L${w} ${hgt} Z" fill="rgba(0,0,0,.25)"/>` +
    `</svg>`;
  // Sized up front, so the layout does not move when the image decodes.
  return h("img", { class: "photo", alt: label, width: w, height: hgt, src: `data:image/svg+xml,${encodeURIComponent(svg)}` });
}

/**
 * The uploaded photo itself from the sandbox, sized up front like the
 * stand-in; if its bytes are gone by the time it loads, the stand-in replaces it.
 */
function realPhoto(url, width, height, label) {
  const fallback = photoImage(width, height, label);
  const img = h("img", { class: "photo real-photo", alt: label, width: fallback.width, height: fallback.height, src: url });
  img.addEventListener("error", () => img.replaceWith(fallback), { once: true });
  return img;
}

function mediaBlock(message, kind, fileUrl) {
  const value = message[kind];
  switch (kind) {
    case "photo": {
      const sizes = Array.isArray(value) ? value : [];
      const largest = sizes[sizes.length - 1] || {};
      const label = `Photo ${largest.width || "?"}×${largest.height || "?"}`;
      return h(
        "figure",
        { class: "media media-photo", "data-kind": "photo" },
        fileUrl ? realPhoto(fileUrl, largest.width, largest.height, label) : photoImage(largest.width, largest.height, label),
        h("figcaption", { class: "media-dims" }, `${largest.width || "?"}×${largest.height || "?"} · ${humanSize(largest.file_size)}`),
      );
    }
    case "video":
    case "animation": {
      const tile = h(
        "figure",
        { class: `media media-${kind}`, "data-kind": kind },
        photoImage(value.width, value.height, kind === "video" ? "Video" : "GIF"),
        h("span", { class: "play", "aria-hidden": "true" }, "▶"),
        h("figcaption", { class: "media-dims" }, `${kind === "video" ? "Video" : "GIF"} · ${duration(value.duration)} · ${humanSize(value.file_size)}`),
      );
      return tile;
    }
    case "audio":
    case "voice":
    case "document": {
      const icon = { audio: "♪", voice: "●", document: "" }[kind];
      const title =
        kind === "audio"
          ? [value.performer, value.title].filter(Boolean).join(" – ") || value.file_name || "Audio"
          : kind === "voice"
            ? "Voice message"
            : value.file_name || "File";
      const detail = kind === "document" ? humanSize(value.file_size) : `${duration(value.duration)} · ${humanSize(value.file_size)}`;
      // The sandbox serves uploaded bytes as a download (never rendered in the page's origin).
      const download = fileUrl
        ? h("a", { class: "attachment-download", href: fileUrl, download: value.file_name || "", title: `Download ${title}` }, "Download")
        : null;
      return h(
        "div",
        { class: `media attachment media-${kind}`, "data-kind": kind },
        h("span", { class: `attachment-icon icon-${kind}`, "aria-hidden": "true" }, icon),
        h("span", { class: "attachment-text" }, h("span", { class: "attachment-name" }, title), h("span", { class: "attachment-size" }, detail, download ? " · " : null, download)),
      );
    }
    default:
      return null;
  }
}

/** What a message says in a reply quote or a one-line preview. */
export function previewText(message) {
  if (!message) return "";
  if (message.text) return message.text;
  if (message.caption) return message.caption;
  const kind = mediaKind(message);
  return kind ? { photo: "Photo", video: "Video", animation: "GIF", document: message.document?.file_name || "File", audio: "Audio", voice: "Voice message" }[kind] : "";
}

function serviceText(message) {
  const from = displayName(message.from);
  if (message.new_chat_members) return `${from} added ${message.new_chat_members.map(displayName).join(", ")}`;
  if (message.left_chat_member) return `${from} removed ${displayName(message.left_chat_member)}`;
  if (message.migrate_to_chat_id) return "The group was upgraded to a supergroup";
  if (message.migrate_from_chat_id) return "Supergroup created from a basic group";
  if (message.group_chat_created) return `${from} created the group`;
  return null;
}

function keyboard(item, ctx) {
  const rows = item.message.reply_markup?.inline_keyboard;
  if (!Array.isArray(rows) || rows.length === 0) return null;
  return h(
    "div",
    { class: "keyboard" },
    rows.map((row) =>
      h(
        "div",
        { class: "keyboard-row" },
        (Array.isArray(row) ? row : []).map((button) => {
          if (button.url) {
            const href = safeHref(button.url);
            return h("a", { class: "kb-button kb-url", href, target: "_blank", rel: "noopener noreferrer", title: button.url }, button.text, h("span", { class: "kb-corner", "aria-hidden": "true" }, "↗"));
          }
          if (typeof button.callback_data === "string") {
            const pending = ctx.pending.has(`${item.message_id}:${button.callback_data}`);
            return h(
              "button",
              {
                type: "button",
                class: `kb-button${pending ? " pending" : ""}`,
                "data-callback": button.callback_data,
                "aria-busy": pending ? "true" : null,
                onclick: () => ctx.onPress(item, button),
              },
              button.text,
            );
          }
          const kind = Object.keys(button).find((k) => k !== "text") || "button";
          return h("button", { type: "button", class: "kb-button", disabled: true, title: `${kind} buttons are not emulated` }, button.text);
        }),
      ),
    ),
  );
}

function rawBlock(item) {
  if (item.from_bot) {
    const calls = item.calls || [];
    if (calls.length === 0) return h("pre", { class: "raw" }, "No recorded call (older than the call log).");
    return calls.map((c) =>
      h("div", { class: "raw-call" }, h("div", { class: "raw-head" }, `${c.method} → ${c.status} at ${c.at}${c.fault ? " (injected fault)" : ""}`), h("pre", { class: "raw" }, JSON.stringify(c.params, null, 2))),
    );
  }
  return h("div", { class: "raw-call" }, h("div", { class: "raw-head" }, "Update delivered to the bot"), h("pre", { class: "raw" }, JSON.stringify({ message: item.message }, null, 2)));
}

function replyQuote(reply, ctx) {
  if (!reply) return null;
  const quote = h(
    "button",
    { type: "button", class: "reply-quote", title: "Show the original", onclick: () => ctx.onJump(reply.message_id) },
    h("span", { class: "reply-name" }, reply.from?.is_bot ? displayName(reply.from) : displayName(reply.from) || "Message"),
    h("span", { class: "reply-text" }, previewText(reply)),
  );
  return quote;
}

/** A message or an album: the bubble and what hangs under it. */
function bubble(items, ctx) {
  const first = items[0];
  const message = first.message;
  const outgoing = !first.from_bot;
  const edited = items.some((i) => i.message.edit_date);
  const captioned = items.find((i) => i.message.caption) || first;
  const showSender = ctx.isGroup && outgoing;
  const media = items.map((i) => {
    const kind = mediaKind(i.message);
    return kind ? mediaBlock(i.message, kind, i.file_url) : null;
  });
  const body = message.text !== undefined ? message.text : captioned.message.caption;
  const entities = message.text !== undefined ? message.entities : captioned.message.caption_entities;
  const mediaOnly = media.some(Boolean) && !body;
  const meta = h(
    "span",
    { class: "meta" },
    edited ? h("span", { class: "edited" }, "edited") : null,
    h("time", {}, clock(message.edit_date || message.date)),
    outgoing ? h("span", { class: "ticks", "aria-hidden": "true" }, "✓✓") : null,
  );
  const content = h(
    "div",
    { class: `bubble${media.some(Boolean) ? " has-media" : ""}${items.length > 1 ? " album" : ""}${mediaOnly ? " media-only" : ""}` },
    showSender ? h("div", { class: "sender" }, displayName(message.from)) : null,
    replyQuote(first.reply_to, ctx),
    items.length > 1 ? h("div", { class: `album-grid n${Math.min(items.length, 4)}` }, media) : media,
    body ? h("div", { class: "text" }, renderEntities(body, entities, { onCommand: ctx.onCommand })) : null,
    meta,
  );
  const key = items.map((i) => i.message_id).join(",");
  const rawOpen = ctx.rawOpen.has(key);
  const actions = h(
    "div",
    { class: "msg-actions" },
    h("button", { type: "button", class: "link-button", onclick: () => ctx.onReply(first) }, "Reply"),
    h("button", { type: "button", class: "link-button raw-toggle", "aria-expanded": rawOpen ? "true" : "false", onclick: () => ctx.onToggleRaw(key) }, rawOpen ? "Hide call" : first.from_bot ? "Bot API call" : "Update"),
    ctx.canDelete ? h("button", { type: "button", class: "link-button danger-text", onclick: () => ctx.onDelete(items) }, "Delete") : null,
  );
  return h(
    "div",
    { class: `row ${outgoing ? "out" : "in"}`, "data-message-id": first.message_id, "data-message-ids": key },
    h("div", { class: "stack" }, content, items.map((i) => keyboard(i, ctx)), actions, rawOpen ? h("div", { class: "raw-box" }, items.map(rawBlock)) : null),
  );
}

function serviceRow(item) {
  return h("div", { class: "row service", "data-message-id": item.message_id }, h("span", { class: "service-pill" }, serviceText(item.message)));
}

function failedRow(call, violation) {
  const description = call.status === 429 ? `429 Too Many Requests${call.fault ? " (injected)" : ""}` : `HTTP ${call.status}${call.fault ? " (injected fault)" : ""}`;
  const detail = violation
    ? `${violation.scope} limit: ${violation.reason.replace(/_/g, " ")}, retry after ${violation.retry_after} s`
    : "the call failed";
  return h(
    "div",
    { class: `row notice${violation ? " violation" : ""}`, "data-failed-call": call.method },
    h("div", { class: "notice-box" }, h("strong", {}, `${call.method}: ${description}`), h("span", {}, ` — ${detail} · ${preciseClock(call.at_ms)}`)),
  );
}

function daySeparator(seconds) {
  const d = new Date(seconds * 1000);
  return h("div", { class: "row service day" }, h("span", { class: "service-pill" }, d.toLocaleDateString(undefined, { day: "numeric", month: "long", year: "numeric" })));
}

/**
 * The timeline of a conversation as [key, signature, build()] entries, so the
 * caller can keep the nodes whose signature did not change.
 */
export function timeline(conv, ctx) {
  const entries = [];
  const messages = conv.messages || [];
  let lastDay = null;
  const pushDay = (seconds) => {
    if (!seconds) return;
    const day = new Date(seconds * 1000).toDateString();
    if (day !== lastDay) {
      lastDay = day;
      entries.push({ key: `d:${day}`, sig: day, build: () => daySeparator(seconds), time: seconds * 1000 });
    }
  };
  for (let i = 0; i < messages.length; i += 1) {
    const item = messages[i];
    pushDay(item.message.date);
    if (serviceText(item.message) !== null) {
      entries.push({ key: `m:${item.message_id}`, sig: JSON.stringify(item.message), build: () => serviceRow(item), time: item.message.date * 1000 });
      continue;
    }
    const group = [item];
    const albumId = item.message.media_group_id;
    while (albumId && i + 1 < messages.length && messages[i + 1].message.media_group_id === albumId) {
      group.push(messages[i + 1]);
      i += 1;
    }
    const key = group.map((g) => g.message_id).join(",");
    const pendingKeys = group.flatMap((g) => (g.message.reply_markup?.inline_keyboard || []).flat().map((b) => `${g.message_id}:${b?.callback_data}`));
    const sig = JSON.stringify([group, ctx.rawOpen.has(key), pendingKeys.filter((k) => ctx.pending.has(k)), ctx.canDelete]);
    entries.push({ key: `m:${key}`, sig, build: () => bubble(group, ctx), time: item.message.date * 1000 });
  }
  const violations = conv.violations || [];
  for (const call of conv.failed_calls || []) {
    const violation = call.status === 429 ? violations.find((v) => v.method === call.method && Math.abs(v.at_ms - call.at_ms) < 1000) : null;
    const entry = { key: `f:${call.at_ms}:${call.method}`, sig: JSON.stringify([call, violation]), build: () => failedRow(call, violation), time: call.at_ms };
    // After the messages of the same second: a message's date has no milliseconds.
    let at = entries.length;
    while (at > 0 && entries[at - 1].time > call.at_ms && !entries[at - 1].key.startsWith("f:")) at -= 1;
    entries.splice(at, 0, entry);
  }
  return entries;
}
