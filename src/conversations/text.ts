// Text rules a conversation view needs without the Telegram adapter: HTML escaping for
// parse_mode HTML messages, and cutting a text without splitting an emoji (src/text/html.ts).
export { cutText, escapeHtml } from "../text/html.js";
