// Telegram's MessageEntity formatting rendered as DOM. Entity offsets and
// lengths count UTF-16 code units, which is exactly how JavaScript indexes
// strings, so `text.slice(offset, offset + length)` is the entity's text.
// Text only ever becomes text nodes.

import { h } from "./dom.js";

const SAFE_PROTOCOLS = new Set(["http:", "https:", "tg:", "mailto:", "tel:"]);

/** The href for a link, or null when it is not a kind of URL worth following. */
export function safeHref(raw) {
  try {
    const url = new URL(raw);
    return SAFE_PROTOCOLS.has(url.protocol) ? url.href : null;
  } catch {
    return null;
  }
}

function link(href) {
  const safe = safeHref(href);
  if (!safe) return h("span", { class: "link-unsafe", title: `not a followable link: ${href}` });
  return h("a", { href: safe, target: "_blank", rel: "noopener noreferrer" });
}

/** The element an entity's text goes into. */
function wrapper(entity, piece, options) {
  switch (entity.type) {
    case "bold":
      return h("strong");
    case "italic":
      return h("em");
    case "underline":
      return h("u");
    case "strikethrough":
      return h("s");
    case "code":
      return h("code", { class: "inline-code" });
    case "pre": {
      const code = h("code", { "data-language": entity.language || null });
      const pre = h("pre", { class: "pre" }, entity.language ? h("span", { class: "pre-lang" }, entity.language) : null, code);
      pre.contentTarget = code;
      return pre;
    }
    case "text_link":
      return link(entity.url || "");
    case "url":
      return link(/^[a-z][a-z0-9+.-]*:/i.test(piece) ? piece : `http://${piece}`);
    case "email":
      return link(`mailto:${piece}`);
    case "phone_number":
      return h("span", { class: "entity-phone" });
    case "mention":
    case "text_mention":
    case "hashtag":
    case "cashtag":
      return h("span", { class: "entity-accent" });
    case "bot_command": {
      const el = h("button", { type: "button", class: "entity-command", title: "Send this command" });
      if (options.onCommand) el.addEventListener("click", () => options.onCommand(piece));
      return el;
    }
    case "spoiler": {
      const el = h("span", { class: "spoiler", tabindex: "0", role: "button", "aria-label": "Spoiler, press to reveal" });
      const reveal = () => el.classList.add("revealed");
      el.addEventListener("click", reveal);
      el.addEventListener("keydown", (e) => {
        if (e.key === "Enter" || e.key === " ") reveal();
      });
      return el;
    }
    case "blockquote":
      return h("blockquote", { class: "quote" });
    case "expandable_blockquote":
      return h("blockquote", { class: "quote expandable" });
    case "custom_emoji":
      return h("span", { class: "custom-emoji" });
    default:
      return h("span", { class: `entity-${String(entity.type).replace(/[^a-z_]/g, "")}` });
  }
}

/** Renders text[start, end) with the entities that lie in it (sorted, nested). */
function renderRange(text, start, end, entities, options) {
  const out = document.createDocumentFragment();
  let pos = start;
  let i = 0;
  while (i < entities.length) {
    const entity = entities[i];
    const from = entity.offset;
    const to = Math.min(entity.offset + entity.length, end);
    if (from < pos || from >= end) {
      // Overlapping without nesting, or outside: Telegram never sends it; ignore.
      i += 1;
      continue;
    }
    if (from > pos) out.append(document.createTextNode(text.slice(pos, from)));
    const inner = [];
    let j = i + 1;
    while (j < entities.length && entities[j].offset < to) {
      inner.push(entities[j]);
      j += 1;
    }
    const el = wrapper(entity, text.slice(from, to), options);
    (el.contentTarget || el).append(renderRange(text, from, to, inner, options));
    out.append(el);
    pos = to;
    i = j;
  }
  if (pos < end) out.append(document.createTextNode(text.slice(pos, end)));
  return out;
}

/**
 * `text` with its `entities` as a fragment. `options.onCommand(command)` is
 * called when a bot_command is clicked.
 */
export function renderEntities(text, entities, options = {}) {
  const valid = (entities || [])
    .filter((e) => Number.isInteger(e.offset) && Number.isInteger(e.length) && e.length > 0 && e.offset >= 0)
    .slice()
    .sort((a, b) => a.offset - b.offset || b.length - a.length);
  return renderRange(String(text || ""), 0, String(text || "").length, valid, options);
}
