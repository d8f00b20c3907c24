// Building DOM without HTML strings: every text goes in as a text node, so
// nothing a bot or a user wrote can become markup.

/**
 * `h("div", {class: "x", onclick: fn, "data-id": 3}, child, "text", [more])`.
 * Attributes whose value is null, undefined or false are left out.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (key === "class") {
      el.className = value;
    } else if (key === "text") {
      el.textContent = String(value);
    } else if (value === true) {
      el.setAttribute(key, "");
    } else {
      el.setAttribute(key, String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) {
      append(el, child);
    } else if (child instanceof Node) {
      el.append(child);
    } else {
      el.append(document.createTextNode(String(child)));
    }
  }
}

/** Replaces all children of `el`. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** "HH:MM" of a unix time in seconds. */
export function clock(seconds) {
  if (!seconds) return "";
  const d = new Date(seconds * 1000);
  return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
}

/** "HH:MM:SS.mmm" of unix milliseconds. */
export function preciseClock(ms) {
  if (!ms) return "";
  const d = new Date(ms);
  const two = (n) => String(n).padStart(2, "0");
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, "0")}`;
}

const PALETTE = ["#e17076", "#7bc862", "#65aadd", "#a695e7", "#ee7aae", "#6ec9cb", "#faa774"];

/** A round avatar with the initials of `name`, coloured by `id` as Telegram does. */
export function avatar(name, id, extraClass = "") {
  const words = String(name || "?").trim().split(/\s+/).filter(Boolean);
  const initials = words.slice(0, 2).map((w) => Array.from(w)[0].toUpperCase()).join("") || "?";
  const index = Math.abs(Number(id) || 0) % PALETTE.length;
  const el = h("span", { class: `avatar ${extraClass}`.trim(), "aria-hidden": "true" }, initials);
  el.style.background = PALETTE[index];
  return el;
}
