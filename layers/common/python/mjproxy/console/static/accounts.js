// mjproxy console, accounts page: each instance's provider, state and counts, and an Enable
// button for one taken out of service at run time (POST /mj/account/{id}/enable). Loaded after
// console.js, whose helpers ($, api, el, toast) it uses.
"use strict";

function accountState(a) {
  const props = a.properties || {};
  const reason = props.disabledReason || props.disableReason || "";
  let text = a.enable ? "enabled" : `disabled${reason ? ` (${reason})` : ""}`;
  if (props.fastExhaustedReason) text += ` · relax only (${props.fastExhaustedReason})`;
  return text;
}

// Only a run-time disable can be undone here; `enable: false` in the configuration is the
// operator's decision and the API refuses it (code 4), so no button that can only fail.
function accountAction(a) {
  if (a.enable) return "";
  if ((a.properties || {}).disabledBy === "configuration") return "set enable: true in its configuration";
  const button = el("button", { type: "button", class: "enable", "data-account": a.id }, "Enable");
  button.setAttribute("aria-label", `Enable ${a.id}`);
  button.addEventListener("click", () => enableAccount(a.id, button));
  return button;
}

async function enableAccount(id, button) {
  button.disabled = true;
  try {
    const { data } = await api(`mj/account/${encodeURIComponent(id)}/enable`, { method: "POST", body: {} });
    if (data && data.code === 1) toast(`${id} enabled`);
    else toast(`${id}: ${(data && data.description) || "not enabled"}`, true);
  } catch (err) {
    toast(err.message, true);
  }
  await loadAccounts();
  // The button is gone once it worked: keep keyboard users on that row, at its new state.
  const row = document.querySelector(`#accounts-body tr[data-account="${CSS.escape(id)}"]`);
  const target = row?.querySelector("button") || row?.querySelector('td[data-label="State"]');
  if (target && target.tagName !== "BUTTON") target.tabIndex = -1;
  (target || $("main")).focus();
}

async function loadAccounts() {
  try {
    const { data } = await api("mj/account/list");
    const focused = document.activeElement?.dataset?.account;
    const rows = (data || []).map((a) => {
      const props = a.properties || {};
      const cells = [
        ["Id", a.id], ["Provider", props.provider || ""], ["State", accountState(a)],
        ["Running", a.runningCount ?? ""], ["Waiting", a.waitingCount ?? ""],
        ["Core / queue", `${a.coreSize ?? ""} / ${a.queueSize ?? ""}`],
        ["Timeout", a.timeoutMinutes ? `${a.timeoutMinutes} min` : ""],
        ["Action", accountAction(a)],
      ];
      return el("tr", { "data-account": a.id },
        ...cells.map(([label, v]) => el("td", { "data-label": label }, v instanceof Node ? v : String(v))));
    });
    $("accounts-body").replaceChildren(...rows);
    // A refresh (every 5 s) must not steal the keyboard focus from an Enable button.
    if (focused) document.querySelector(`#accounts-body button[data-account="${CSS.escape(focused)}"]`)?.focus();
  } catch (err) {
    toast(err.message, true);
  }
}
