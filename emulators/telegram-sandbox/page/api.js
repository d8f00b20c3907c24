// The sandbox's control API as the page uses it, and the parsing of t.me links.

/** A refused control call: the sandbox's `{"error": ...}` message. */
export class ControlError extends Error {}

async function call(method, path, body) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { error: text };
  }
  if (!response.ok) {
    throw new ControlError((data && data.error) || `${method} ${path}: ${response.status}`);
  }
  return data;
}

export const get = (path) => call("GET", path);
export const post = (path, body = {}) => call("POST", path, body);

const enc = encodeURIComponent;

export const api = {
  overview: () => get("/sandbox/overview"),
  conversation: (bot, chatId) => get(`/sandbox/bots/${enc(bot)}/chats/${enc(chatId)}`),
  markRead: (bot, chatId) => post(`/sandbox/bots/${enc(bot)}/chats/${enc(chatId)}/read`),
  deliveries: (bot) => get(`/sandbox/bots/${enc(bot)}/deliveries`),
  limits: (bot) => get(`/sandbox/bots/${enc(bot)}/limits`),
  createUser: (fields) => post("/sandbox/users", fields),
  start: (userId, bot, payload) => post(`/sandbox/users/${enc(userId)}/start`, { bot_username: bot, payload }),
  write: (userId, bot, text, replyTo) =>
    post(`/sandbox/users/${enc(userId)}/messages`, { bot_username: bot, text, reply_to_message_id: replyTo }),
  block: (userId, bot) => post(`/sandbox/users/${enc(userId)}/block`, { bot_username: bot }),
  unblock: (userId, bot) => post(`/sandbox/users/${enc(userId)}/unblock`, { bot_username: bot }),
  press: (userId, bot, chatId, messageId, data) =>
    post(`/sandbox/users/${enc(userId)}/callbacks`, {
      bot_username: bot,
      chat_id: chatId,
      message_id: messageId,
      callback_data: data,
    }),
  deleteMessage: (userId, bot, messageId) =>
    post(`/sandbox/users/${enc(userId)}/delete_message`, { bot_username: bot, message_id: messageId }),
  createGroup: (fields) => post("/sandbox/groups", fields),
  addBot: (chatId, bot, fromUserId, payload) =>
    post(`/sandbox/groups/${enc(chatId)}/bots`, { bot_username: bot, from_user_id: fromUserId, start_payload: payload }),
  removeBot: (chatId, bot, fromUserId) =>
    post(`/sandbox/groups/${enc(chatId)}/bots/${enc(bot)}/remove`, { from_user_id: fromUserId }),
  groupWrite: (chatId, fromUserId, text, replyTo) =>
    post(`/sandbox/groups/${enc(chatId)}/messages`, { from_user_id: fromUserId, text, reply_to_message_id: replyTo }),
  migrate: (chatId, fromUserId) => post(`/sandbox/groups/${enc(chatId)}/migrate`, { from_user_id: fromUserId }),
  reset: () => post("/sandbox/reset"),
};

/**
 * A Telegram deep link (`https://t.me/<bot>?start=<code>`, `t.me/<bot>?startgroup=<code>`,
 * `tg://resolve?domain=<bot>&start=<code>`): `{bot, kind: "start"|"startgroup", payload}`, or null.
 */
export function parseDeepLink(text) {
  const trimmed = text.trim();
  const web = /^(?:https?:\/\/)?(?:www\.)?(?:t|telegram)\.me\/([A-Za-z][A-Za-z0-9_]{3,31})\?(start|startgroup)(?:=([A-Za-z0-9_-]*))?$/.exec(
    trimmed,
  );
  if (web) {
    return { bot: web[1], kind: web[2], payload: web[3] || "" };
  }
  const app = /^tg:\/\/resolve\?domain=([A-Za-z][A-Za-z0-9_]{3,31})&(start|startgroup)(?:=([A-Za-z0-9_-]*))?$/.exec(trimmed);
  if (app) {
    return { bot: app[1], kind: app[2], payload: app[3] || "" };
  }
  return null;
}
