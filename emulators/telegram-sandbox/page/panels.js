// The bot panel (webhook status, update deliveries, flood-limit windows,
// violations, command menu) and the small forms (new user, new group).

import { h, avatar, preciseClock } from "./dom.js";

function table(headers, rows, rowClass) {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "data" },
      h("thead", {}, h("tr", {}, headers.map((x) => h("th", { scope: "col" }, x)))),
      h(
        "tbody",
        {},
        rows.length === 0
          ? h("tr", {}, h("td", { colspan: headers.length, class: "muted" }, "Nothing yet"))
          : rows.map((row) => h("tr", { class: rowClass ? rowClass(row.record) : null }, row.cells.map((c) => h("td", {}, c)))),
      ),
    ),
  );
}

function webhookSection(bot) {
  const hook = bot.webhook || {};
  const lines = hook.url
    ? [
        h("div", {}, h("span", { class: "label" }, "URL "), h("code", {}, hook.url)),
        h("div", {}, h("span", { class: "label" }, "Secret token "), hook.has_secret ? "set" : "none"),
      ]
    : [h("div", {}, "No webhook: the bot takes its updates with getUpdates.")];
  lines.push(h("div", {}, h("span", { class: "label" }, "Pending updates "), String(hook.pending_update_count ?? 0)));
  if (hook.last_error_message) {
    lines.push(h("div", { class: "error-line" }, `Last error: ${hook.last_error_message} (${new Date(hook.last_error_date * 1000).toLocaleTimeString()})`));
  }
  return h("section", { class: "panel-section" }, h("h3", {}, "Webhook"), lines);
}

function deliveriesSection(deliveries) {
  const rows = deliveries
    .slice()
    .reverse()
    .map((d) => ({
      record: d,
      cells: [
        preciseClock(d.at_ms),
        String(d.update_id),
        d.kind,
        d.via,
        d.attempt > 1 ? `retry ${d.attempt - 1}` : "first",
        `${d.latency_ms} ms`,
        d.ok ? `✓ ${d.http_status ?? "ok"}` : `✗ ${d.error || d.http_status || "failed"}`,
      ],
    }));
  return h(
    "section",
    { class: "panel-section" },
    h("h3", {}, "Update deliveries"),
    table(["Time", "Update", "Kind", "Via", "Attempt", "Latency", "Status"], rows, (d) => (d.ok ? "" : "failed")),
  );
}

function windowBar(w) {
  const share = Math.min(1, w.used / Math.max(1, w.cap));
  const bar = h("span", { class: "bar-fill" });
  bar.style.width = `${Math.round(share * 100)}%`;
  const label = w.scope === "bot" ? "All chats" : `${w.scope === "group" ? "Group" : "Chat"} ${w.chat_id}`;
  const per = w.window_ms >= 60000 ? `${w.window_ms / 60000} min` : `${w.window_ms / 1000} s`;
  return h(
    "div",
    { class: `window${w.penalty_ms ? " punished" : ""}${share >= 1 ? " full" : ""}` },
    h("span", { class: "window-label" }, label),
    h("span", { class: "bar" }, bar),
    h("span", { class: "window-count" }, `${w.used}/${w.cap} per ${per}`),
    w.penalty_ms ? h("span", { class: "penalty" }, `refused for ${(w.penalty_ms / 1000).toFixed(1)} s`) : null,
  );
}

function limitsSection(limits) {
  const header = limits.unlimited
    ? "Flood limits are off."
    : `Telegram's limits × ${limits.scale}: ${limits.per_bot_per_second}/s per bot, ${limits.per_chat_per_second}/s per chat, ${limits.per_group_per_minute}/min per group.`;
  const violations = (limits.violations || []).slice().reverse();
  return [
    h("section", { class: "panel-section" }, h("h3", {}, "Rate-limit windows"), h("p", { class: "muted" }, header), (limits.windows || []).map(windowBar)),
    h(
      "section",
      { class: "panel-section" },
      h("h3", {}, "Limit violations ", h("span", { class: `count-badge${violations.length ? " bad" : ""}` }, String(violations.length))),
      table(
        ["Time", "Method", "Chat", "Window", "Reason", "Retry after"],
        violations.map((v) => ({
          record: v,
          cells: [preciseClock(v.at_ms), v.method, String(v.chat_id ?? ""), v.scope, v.reason.replace(/_/g, " "), `${v.retry_after} s`],
        })),
        () => "violation",
      ),
    ),
  ];
}

/** The bot panel. `data` = {bot (overview entry), deliveries, limits}. */
export function botPanel(data, onBack) {
  const { bot } = data;
  return h(
    "div",
    { class: "bot-panel" },
    h(
      "header",
      { class: "chat-head" },
      h("button", { type: "button", class: "icon-button back", "aria-label": "Back to chats", onclick: onBack }, "←"),
      avatar(bot.first_name, bot.id),
      h("div", { class: "chat-title" }, h("div", { class: "name" }, bot.first_name), h("div", { class: "status" }, `@${bot.username} · bot ${bot.id}`)),
    ),
    h("div", { class: "panel-body" }, webhookSection(bot), limitsSection(data.limits), deliveriesSection(data.deliveries)),
  );
}

/** A modal form in `dialog`; resolves with the submitted values or null. */
export function formDialog(dialog, title, fields, submitLabel) {
  return new Promise((resolve) => {
    const inputs = {};
    const body = fields.map((field) => {
      let input;
      if (field.type === "select") {
        input = h("select", { name: field.name, id: `f-${field.name}` }, field.options.map((o) => h("option", { value: o.value }, o.label)));
      } else if (field.type === "checkboxes") {
        input = h(
          "div",
          { class: "checks", id: `f-${field.name}` },
          field.options.length === 0 ? h("span", { class: "muted" }, field.empty || "None") : null,
          field.options.map((o) => h("label", { class: "check" }, h("input", { type: "checkbox", value: o.value, checked: o.checked }), ` ${o.label}`)),
        );
      } else {
        input = h("input", { name: field.name, id: `f-${field.name}`, type: "text", placeholder: field.placeholder || "", required: field.required, value: field.value || null, autocomplete: "off" });
      }
      inputs[field.name] = { field, input };
      return h("div", { class: "form-row" }, h("label", { for: `f-${field.name}` }, field.label), input);
    });
    const error = h("div", { class: "form-error", role: "alert" });
    const form = h(
      "form",
      { method: "dialog", class: "form" },
      h("h2", {}, title),
      body,
      error,
      h(
        "div",
        { class: "form-actions" },
        h("button", { type: "button", class: "secondary", onclick: () => close(null) }, "Cancel"),
        h("button", { type: "submit", class: "primary" }, submitLabel),
      ),
    );
    const close = (value) => {
      dialog.close();
      dialog.replaceChildren();
      resolve(value);
    };
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const values = {};
      for (const [name, { field, input }] of Object.entries(inputs)) {
        if (field.type === "checkboxes") {
          values[name] = Array.from(input.querySelectorAll("input:checked")).map((c) => c.value);
        } else {
          values[name] = input.value.trim();
        }
      }
      close(values);
    });
    dialog.addEventListener("cancel", () => resolve(null), { once: true });
    dialog.replaceChildren(form);
    dialog.showModal();
    const first = form.querySelector("input, select");
    if (first) first.focus();
  });
}
