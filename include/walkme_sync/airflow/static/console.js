/* The Integrations console and the Sync report: the little behaviour their server-rendered HTML needs.
 *
 * Actions (Run now, Dry run, Pause/Resume) call Airflow's own REST API from the browser, so they run
 * as the signed-in user: the Airflow UI's session cookie goes with every same-origin request and
 * Airflow's auth manager decides, exactly as for the UI's own buttons. No password is stored anywhere.
 */
(() => {
  "use strict";
  const body = document.body;
  const BASE = body.dataset.base || "/integrations";      // this plugin's mount point
  const AIRFLOW = body.dataset.airflow || "";             // the Airflow UI's root ("" or a path prefix)
  const REFRESH_MS = 4000;

  // --- look like the Airflow UI around us (light or dark) -------------------------------------
  const THEME_VARS = [
    "bg", "bg-subtle", "bg-muted", "fg", "fg-muted", "border", "border-emphasized", "brand-solid", "blue-600",
  ].map((name) => `--chakra-colors-${name}`);

  function followAirflowTheme() {
    try {
      if (window.parent === window) return;
      const root = window.parent.document.documentElement;
      const style = window.parent.getComputedStyle(root);
      for (const name of THEME_VARS) {
        const value = style.getPropertyValue(name).trim();
        if (value) document.documentElement.style.setProperty(name, value);
      }
      document.documentElement.classList.toggle("dark", root.classList.contains("dark"));
    } catch (_) { /* opened on its own: keep the built-in light theme */ }
  }

  // --- open Airflow pages in the whole UI, not inside this frame --------------------------------
  // The UI's iframe sandbox forbids navigating the top window, but it lets a same-origin page use the
  // UI's own history: push the page and tell the UI's router, exactly like clicking one of its links.
  function openInAirflow(url) {
    try {
      const top = window.top;
      if (top !== window && top.location.origin === window.location.origin) {
        const state = top.history.state;
        const idx = state && typeof state.idx === "number" ? state.idx + 1 : 0;
        top.history.pushState({ usr: null, key: Math.random().toString(36).slice(2, 10), idx }, "", url);
        top.dispatchEvent(new PopStateEvent("popstate", { state: top.history.state }));
        return;
      }
    } catch (_) { /* fall through */ }
    window.location.href = url;
  }

  document.addEventListener("click", (event) => {
    const link = event.target.closest("a[data-airflow-link]");
    if (!link) return;
    event.preventDefault();
    openInAirflow(link.getAttribute("href"));
  });

  // --- messages ----------------------------------------------------------------------------------
  let toastTimer = null;
  function toast(text, { error = false, link = null } = {}) {
    const box = document.getElementById("toast");
    if (!box) return;
    box.textContent = text;
    if (link) {
      const a = document.createElement("a");
      a.href = link.href;
      a.textContent = link.text;
      a.dataset.airflowLink = "";
      box.append(" ", a);
    }
    box.classList.toggle("error", error);
    box.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { box.hidden = true; }, error ? 12000 : 7000);
  }

  // --- Airflow's REST API as the signed-in user ----------------------------------------------------
  async function airflowApi(method, path, payload) {
    const response = await fetch(`${AIRFLOW}/api/v2${path}`, {
      method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: payload === undefined ? undefined : JSON.stringify(payload),
    });
    if (!response.ok) {
      let detail = response.statusText;
      try {
        const data = await response.json();
        detail = typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail);
      } catch (_) { /* keep the status text */ }
      if (response.status === 401) detail = "your Airflow session has expired: sign in again";
      if (response.status === 403) detail = `your Airflow role does not allow this (${detail})`;
      throw new Error(`${response.status}: ${detail}`);
    }
    return response.status === 204 ? null : response.json();
  }

  const dagPath = (dagId) => `/dags/${encodeURIComponent(dagId)}`;

  function trigger(dagId, dryRun) {
    // logical_date null: a manual run "now", never a past scheduled interval.
    return airflowApi("POST", `${dagPath(dagId)}/dagRuns`, {
      logical_date: null,
      conf: { dry_run: dryRun, full_sync: false },
    });
  }

  function setPaused(dagId, paused) {
    return airflowApi("PATCH", `${dagPath(dagId)}?update_mask=is_paused`, { is_paused: paused });
  }

  // --- confirm dialog ------------------------------------------------------------------------------
  function confirmAction(title, text, okLabel, danger = false) {
    const dialog = document.getElementById("confirm");
    document.getElementById("confirm-title").textContent = title;
    document.getElementById("confirm-text").textContent = text;
    const ok = document.getElementById("confirm-ok");
    ok.textContent = okLabel;
    ok.classList.toggle("danger", danger);
    ok.classList.toggle("primary", !danger);
    return new Promise((resolve) => {
      dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
      dialog.returnValue = "cancel";
      dialog.showModal();
      ok.focus();
    });
  }

  // --- the console ------------------------------------------------------------------------------------
  const tableBox = document.getElementById("console-table");
  let refreshTimer = null;

  async function refreshTable() {
    if (!tableBox) return;
    try {
      const response = await fetch(`${BASE}/?partial=table`, { credentials: "same-origin" });
      if (response.ok) tableBox.innerHTML = await response.text();
    } catch (_) { /* next tick tries again */ }
    scheduleRefresh();
  }

  function scheduleRefresh() {
    clearTimeout(refreshTimer);
    const busy = document.querySelector('[data-in-flight="true"]');
    if (busy) refreshTimer = setTimeout(refreshTable, REFRESH_MS);
  }

  function rowInfo(element) {
    const row = element.closest("tr");
    return row ? { ...row.dataset } : {};
  }

  async function runAction(kind, row) {
    const dry = kind === "dry-run";
    const paused = row.paused === "true";
    const what = dry ? "Dry run" : "Run";
    let text = dry
      ? `Compare the report with Salesforce (${row.env}) and list the changes field by field. Nothing is written.`
      : `Write the report's changed values into Salesforce (${row.env}) now. A dry run shows them first.`;
    if (paused) {
      text += " The integration is paused, and Airflow starts no run of a paused DAG: it is resumed first";
      text += row.scheduled === "true"
        ? ", and runs on its schedule again."
        : " (it has no schedule, so it still runs only when triggered).";
      if (row.missed) text += ` Resuming also starts the scheduled run it missed (${row.missed}), which writes to Salesforce.`;
    }
    const label = `${paused ? "Resume and " : ""}${dry ? "dry-run" : "run now"}`;
    if (!dry || paused) {
      const ok = await confirmAction(`${what}: ${row.name}`, text, label.charAt(0).toUpperCase() + label.slice(1));
      if (!ok) return;
    }
    if (paused) await setPaused(row.dagId, false);
    const run = await trigger(row.dagId, dry);
    const runUrl = `${AIRFLOW}${dagPath(row.dagId)}/runs/${encodeURIComponent(run.dag_run_id)}`;
    toast(`${dry ? "Dry run" : "Run"} of ${row.name} started.`, { link: { href: runUrl, text: "Open run" } });
  }

  async function pauseAction(kind, row) {
    const pause = kind === "pause";
    if (!pause && row.missed) {
      const ok = await confirmAction(
        `Resume: ${row.name}`,
        `It was paused over its scheduled time ${row.missed}: Airflow runs it once for that time as soon as it is resumed, writing to Salesforce (${row.env}), then on its schedule. Resume it?`,
        "Resume",
      );
      if (!ok) return;
    }
    await setPaused(row.dagId, pause);
    toast(pause
      ? `${row.name} is paused: no scheduled run starts until it is resumed.`
      : `${row.name} is active again: it runs on its schedule.`);
  }

  async function openOverlay(title, url) {
    const dialog = document.getElementById("overlay");
    const box = document.getElementById("overlay-body");
    document.getElementById("overlay-title").textContent = title;
    box.innerHTML = '<p class="muted">Loading…</p>';
    if (!dialog.open) dialog.showModal();
    try {
      const response = await fetch(url, { credentials: "same-origin" });
      box.innerHTML = response.ok ? await response.text() : `<p class="reason">${response.status} ${response.statusText}</p>`;
      // A config's first flagged line (the one its first problem names) comes into view.
      const flagged = box.querySelector("pre.yaml .line.flagged");
      if (flagged) flagged.closest("pre").scrollTop = Math.max(flagged.offsetTop - 80, 0);
    } catch (error) {
      box.textContent = String(error);
    }
  }

  async function onAction(button) {
    const kind = button.dataset.action;
    const row = rowInfo(button);
    if (kind === "refresh") return refreshTable();
    if (kind === "close") return button.closest("dialog").close();
    if (kind === "log") {
      return openOverlay(`Log: ${row.name}`, `${BASE}/log/${encodeURIComponent(row.id)}`);
    }
    if (kind === "config") {
      return openOverlay(`Config: ${row.name}`, `${BASE}/config?file=${encodeURIComponent(button.dataset.file)}`);
    }
    button.classList.add("busy");
    try {
      if (kind === "run" || kind === "dry-run") await runAction(kind, row);
      else if (kind === "pause" || kind === "resume") await pauseAction(kind, row);
    } catch (error) {
      toast(`Could not ${kind.replace("-", " ")} ${row.name}: ${error.message}`, { error: true });
    } finally {
      button.classList.remove("busy");
      await refreshTable();
      // A new run is queued before it is visible as in flight: look again shortly.
      setTimeout(refreshTable, 1500);
    }
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action]");
    if (button && !button.disabled) onAction(button);
  });

  // Clicking the dimmed backdrop closes an overlay, as in the Airflow UI.
  document.addEventListener("click", (event) => {
    if (event.target instanceof HTMLDialogElement && event.target.id === "overlay") event.target.close();
  });

  // --- the Sync report --------------------------------------------------------------------------------
  // Typing filters the rows shown at once; the form's Search asks the server (all rows, not just these).
  document.addEventListener("input", (event) => {
    const input = event.target.closest("input[data-live-filter]");
    if (!input) return;
    const table = document.getElementById(input.dataset.liveFilter);
    if (!table) return;
    const needle = input.value.trim().toLowerCase();
    let shown = 0;
    for (const tr of table.tBodies[0].rows) {
      const hit = !needle || tr.textContent.toLowerCase().includes(needle);
      tr.classList.toggle("hidden", !hit);
      if (hit) shown += 1;
    }
    const count = input.closest(".filters")?.querySelector("[data-filter-count]");
    if (count && needle) count.textContent = `${shown} shown`;
  });

  followAirflowTheme();
  scheduleRefresh();
  if (document.querySelector("main.report[data-in-flight='true']")) {
    setTimeout(() => window.location.reload(), REFRESH_MS);
  }
})();
