// The owner's "Notifications" part of the share dialog: a Discord or Slack webhook for the
// chain, the classes whose new connections it tells, and which events (mapper/docs/notifications.md).

import { call } from "./api";
import { element } from "./dom";
import { classLabel } from "./labels";

interface Webhook {
  url: string | null;
  classes: number[];
  events: string[];
}

const CLASSES = [1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 13, 25, 14, 15, 16, 17, 18];
const EVENTS: [string, string][] = [
  ["connection", "New connection to a picked class"],
  ["hostile", "System set hostile"],
  ["critical", "Hole gone critical"],
];

function checkbox(label: string, value: string, checked: boolean): HTMLLabelElement {
  const box = element("input", { type: "checkbox", value });
  box.checked = checked;
  return element("label", {}, box, ` ${label}`);
}

function checked(list: HTMLElement): string[] {
  return [...list.querySelectorAll<HTMLInputElement>("input:checked")].map((box) => box.value);
}

/** The part, filled from the chain's webhook; `failed` shows an error in the dialog. */
export function notificationsPart(token: string, base: string, failed: (error: unknown) => void): HTMLElement {
  const path = `${base}/webhook`;
  const current = element("p", { class: "webhook-current", "aria-live": "polite" });
  const url = element("input", { type: "url", "aria-label": "Webhook URL", placeholder: "https://discord.com/api/webhooks/… or https://hooks.slack.com/services/…", autocomplete: "off", maxlength: "512" });
  const classes = element("fieldset", { class: "webhook-classes" }, element("legend", {}, "Classes"));
  const events = element("fieldset", { class: "webhook-events" }, element("legend", {}, "Events"));
  const save = element("button", { type: "submit" }, "Save notifications");
  const remove = element("button", { type: "button", hidden: "" }, "Stop notifications");
  const show = (hook: Webhook) => {
    current.textContent = hook.url ? `Posting to ${hook.url}` : "No notifications.";
    remove.hidden = !hook.url;
    const picked = new Set(hook.classes);
    classes.replaceChildren(classes.firstChild!, ...CLASSES.map((value) => checkbox(classLabel(value), String(value), picked.has(value))));
    const wanted = hook.url ? new Set(hook.events) : new Set(EVENTS.map(([value]) => value));
    events.replaceChildren(events.firstChild!, ...EVENTS.map(([value, label]) => checkbox(label, value, wanted.has(value))));
  };
  const form = element("form", { class: "notifications" }, current, url, classes, events, element("div", { class: "give" }, save, remove));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      // The stored URL is shown masked: saving asks for it again.
      show(await call<Webhook>(token, "PUT", path, {
        url: url.value.trim(),
        classes: checked(classes).map(Number),
        events: checked(events),
      }));
      url.value = "";
    } catch (error) {
      failed(error);
    }
  });
  remove.addEventListener("click", async () => {
    try {
      await call(token, "DELETE", path);
      show({ url: null, classes: [], events: [] });
    } catch (error) {
      failed(error);
    }
  });
  call<Webhook>(token, "GET", path).then(show, failed);
  return form;
}
