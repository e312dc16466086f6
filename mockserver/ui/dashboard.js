// The mockserver dashboard: a client of the control API (/__mock/), polled once a second.
// Same-origin fetches only; JSON bodies for writes; every value shown goes in as text, never HTML.
"use strict";

(() => {
  const POLL_MS = 1000;
  const JOURNAL_WINDOW = 500; // the newest entries shown
  const etags = new Map(); // path -> ETag of the last 200 answer
  const rows = new Map(); // seq -> {entry, row, detail}
  const filters = { api: "", account: "", operation: "", status: "", violations: false };
  let notificationsAvailable = true;
  let timer = null;

  const $ = (id) => document.getElementById(id);

  class HttpError extends Error {
    constructor(status, detail) {
      super(`${status}: ${detail}`);
      this.status = status;
    }
  }

  // GET a control endpoint as JSON; null when it did not change since the last answer (304).
  async function getJSON(path) {
    const headers = { Accept: "application/json" };
    if (etags.has(path)) headers["If-None-Match"] = etags.get(path);
    const response = await fetch(path, { headers, cache: "no-store", credentials: "same-origin" });
    if (response.status === 304) return null;
    if (!response.ok) throw new HttpError(response.status, await problemText(response));
    const tag = response.headers.get("ETag");
    if (tag) etags.set(path, tag);
    return response.json();
  }

  async function problemText(response) {
    try {
      const body = await response.json();
      return body.detail || body.title || JSON.stringify(body);
    } catch {
      return response.statusText;
    }
  }

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  function clock(seconds) {
    if (typeof seconds !== "number") return "";
    const d = new Date(seconds * 1000);
    const pad = (n, w = 2) => String(n).padStart(w, "0");
    return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
  }

  function pretty(value) {
    return typeof value === "string" ? value : JSON.stringify(value, null, 2);
  }

  function violationText(entry) {
    const list = entry.violations || [];
    if (!list.length) return entry.response_violations ? `response: ${entry.response_violations.join("; ")}` : "";
    const shown = list.slice(0, 3).map((v) => `${v.field}: ${v.problem}`);
    if (list.length > 3) shown.push(`… (+${list.length - 3})`);
    return shown.join("; ");
  }

  // -- the journal -----------------------------------------------------------------------------
  function entryRow(entry) {
    const row = el("tr", undefined, "entry");
    row.dataset.seq = entry.seq;
    row.dataset.api = entry.api || "";
    row.dataset.account = entry.account || "";
    row.dataset.operation = entry.operation_id || "";
    row.dataset.status = entry.status;
    row.dataset.violations = (entry.violations || []).length;
    const path = entry.query ? `${entry.path}?${entry.query}` : entry.path;
    row.append(
      el("td", entry.seq, "mono"),
      el("td", clock(entry.time), "mono"),
      el("td", entry.method, "method"),
      el("td", path, "path"),
      el("td", entry.operation_id || "—", "operation"),
      el("td", entry.account || "", "account"),
      el("td", entry.status, `status s${String(entry.status)[0]}`),
      el("td", entry.duration_ms, "mono"),
      el("td", violationText(entry), "violations"),
    );
    row.addEventListener("click", () => toggle(entry.seq));
    return row;
  }

  async function toggle(seq) {
    const item = rows.get(seq);
    if (!item) return;
    if (item.detail) {
      item.detail.remove();
      item.detail = null;
      item.row.classList.remove("open");
      return;
    }
    const detail = el("tr", undefined, "detail");
    const cell = el("td", "loading…");
    cell.colSpan = 9;
    detail.append(cell);
    item.row.after(detail);
    item.row.classList.add("open");
    item.detail = detail;
    try {
      const full = await getFresh(`/__mock/requests/${seq}`);
      cell.textContent = "";
      cell.append(details(full));
    } catch (error) {
      cell.textContent = `could not load entry ${seq}: ${error.message}`;
    }
    applyFilters();
  }

  async function getFresh(path) {
    etags.delete(path);
    return getJSON(path);
  }

  function details(entry) {
    const box = el("div");
    const bodies = el("div", undefined, "bodies");
    const request = el("div", undefined, "request-body");
    request.append(el("h3", "request body"));
    if ("body" in entry) request.append(el("pre", pretty(entry.body)));
    else if (entry.body_bytes !== undefined) request.append(el("pre", `(${entry.body_bytes} bytes, not recorded)`));
    else request.append(el("pre", "(no body)"));
    const response = el("div", undefined, "response-body");
    response.append(el("h3", `response body (${entry.status})`));
    if ("response" in entry) response.append(el("pre", pretty(entry.response)));
    else if (entry.response_bytes !== undefined) response.append(el("pre", `(${entry.response_bytes} bytes, not recorded)`));
    else response.append(el("pre", "(no body)"));
    bodies.append(request, response);
    box.append(bodies);
    const extra = [];
    for (const v of entry.violations || []) extra.push(`violation (${v.location}) ${v.field}: ${v.problem}`);
    for (const v of entry.response_violations || []) extra.push(`response violation: ${v}`);
    if (entry.error) extra.push(`error: ${entry.error}`);
    for (const note of entry.notes || []) extra.push(`note: ${note}`);
    if (extra.length) {
      const list = el("ul", undefined, "plain");
      for (const line of extra) list.append(el("li", line));
      box.append(list);
    }
    return box;
  }

  function renderJournal(entries) {
    const body = $("journal-rows");
    const present = new Set(entries.map((e) => e.seq));
    for (const [seq, item] of rows) {
      if (!present.has(seq)) {
        item.row.remove();
        if (item.detail) item.detail.remove();
        rows.delete(seq);
      }
    }
    // Oldest first in the answer; newest first on the page.
    for (const entry of entries) {
      if (rows.has(entry.seq)) continue;
      const row = entryRow(entry);
      body.prepend(row);
      rows.set(entry.seq, { entry, row, detail: null });
    }
    refreshFilterOptions();
    applyFilters();
  }

  function refreshFilterOptions() {
    const seen = { api: new Set(), account: new Set(), operation: new Set(), status: new Set() };
    for (const { entry } of rows.values()) {
      if (entry.api) seen.api.add(entry.api);
      if (entry.account) seen.account.add(entry.account);
      if (entry.operation_id) seen.operation.add(entry.operation_id);
      seen.status.add(String(entry.status));
    }
    fillSelect($("filter-api"), seen.api);
    fillSelect($("filter-account"), seen.account);
    fillSelect($("filter-operation"), seen.operation);
    fillSelect($("filter-status"), seen.status, ["2xx", "3xx", "4xx", "5xx"]);
  }

  function fillSelect(select, values, fixed = []) {
    const wanted = ["", ...fixed, ...[...values].sort()];
    const current = [...select.options].map((o) => o.value);
    if (select.value && !wanted.includes(select.value)) wanted.push(select.value);
    if (wanted.join("\u0000") === current.join("\u0000")) return;
    const chosen = select.value;
    select.replaceChildren(...wanted.map((v) => {
      const option = el("option", v === "" ? "all" : v);
      option.value = v;
      return option;
    }));
    select.value = chosen;
  }

  function matches(row) {
    const d = row.dataset;
    if (filters.api && d.api !== filters.api) return false;
    if (filters.account && d.account !== filters.account) return false;
    if (filters.operation && d.operation !== filters.operation) return false;
    if (filters.status) {
      const wanted = filters.status;
      if (wanted.endsWith("xx") ? d.status[0] !== wanted[0] : d.status !== wanted) return false;
    }
    if (filters.violations && d.violations === "0") return false;
    return true;
  }

  function applyFilters() {
    let shown = 0;
    for (const item of rows.values()) {
      const visible = matches(item.row);
      item.row.classList.toggle("hidden", !visible);
      if (item.detail) item.detail.classList.toggle("hidden", !visible);
      if (visible) shown += 1;
    }
    $("count").textContent = rows.size ? `(${shown} of ${rows.size})` : "";
    $("journal-empty").classList.toggle("hidden", rows.size > 0);
  }

  // -- jobs, notifications, deliveries, faults -------------------------------------------------
  let lastJobs = [];
  let lastNotifications = [];

  function renderJobs() {
    const byJob = new Map(lastNotifications.map((n) => [n.job_id, n]));
    const body = $("jobs-rows");
    body.replaceChildren(...lastJobs.map((job) => {
      const row = el("tr");
      row.dataset.job = job.id;
      const note = byJob.get(job.id);
      let summary = "";
      if (note) {
        summary = `${note.account}: ${note.created} created, ${note.skipped} skipped`;
        const skipped = (note.skipped_items || []).map((s) => `${s.email} (${s.reason})`);
        if (skipped.length) summary += `: ${skipped.join("; ")}`;
      }
      row.append(
        el("td", job.id, "mono"),
        el("td", job.api),
        el("td", job.kind),
        el("td", job.status),
        el("td", clock(job.created_at), "mono"),
        el("td", clock(job.finished_at), "mono"),
        el("td", summary, "notification"),
      );
      return row;
    }));
    const orphans = lastNotifications.filter((n) => !lastJobs.some((j) => j.id === n.job_id));
    $("notifications-note").textContent = !notificationsAvailable
      ? "This server has no notifications endpoint."
      : orphans.length ? `${orphans.length} notification(s) of jobs no longer listed.` : "";
  }

  function renderDeliveries(deliveries) {
    $("deliveries-rows").replaceChildren(...deliveries.map((d) => {
      const row = el("tr");
      row.dataset.delivery = d.id;
      const event = d.event && typeof d.event === "object" ? d.event.event_type || d.event.type || "" : "";
      const attempts = el("ul", undefined, "plain");
      for (const a of d.attempts || []) {
        const outcome = a.status === null || a.status === undefined ? `no answer: ${a.error || ""}` : `${a.status}${a.error ? ` ${a.error}` : ""}`;
        attempts.append(el("li", `${clock(a.at)} → ${outcome} (${a.duration_ms} ms)`));
      }
      const cell = el("td");
      cell.append(attempts);
      row.append(el("td", d.id, "mono"), el("td", d.endpoint_id, "mono"), el("td", event), el("td", d.status), cell);
      return row;
    }));
  }

  function renderFaults(faults) {
    $("faults-rows").replaceChildren(...faults.map((f) => {
      const row = el("tr");
      row.append(
        el("td", f.id, "mono"), el("td", f.api || "any"), el("td", f.operation_id || "any"),
        el("td", f.method || "any"), el("td", f.status ?? ""), el("td", f.latency_ms || 0),
        el("td", f.drop ? "yes" : ""), el("td", f.remaining),
      );
      return row;
    }));
  }

  // -- polling -----------------------------------------------------------------------------------
  async function poll() {
    clearTimeout(timer);
    try {
      const journal = await getJSON(`/__mock/requests?bodies=false&limit=${JOURNAL_WINDOW}`);
      if (journal) renderJournal(journal.requests);
      const [jobs, deliveries, faults] = await Promise.all([
        getJSON("/__mock/jobs"),
        getJSON("/__mock/webhooks/deliveries"),
        getJSON("/__mock/faults"),
      ]);
      let notifications = null;
      if (notificationsAvailable) {
        try {
          notifications = await getJSON("/__mock/notifications");
        } catch (error) {
          if (error.status !== 404) throw error;
          notificationsAvailable = false;
        }
      }
      if (jobs) lastJobs = jobs.jobs;
      if (notifications) lastNotifications = notifications.notifications;
      if (jobs || notifications || !notificationsAvailable) renderJobs();
      if (deliveries) renderDeliveries(deliveries.deliveries);
      if (faults) renderFaults(faults.faults);
      setStatus(`live · ${clock(Date.now() / 1000).slice(0, 8)}`, false);
    } catch (error) {
      const hint = error.status === 401 ? " (open /__mock/ui?token=<control token> once)" : "";
      setStatus(`cannot reach the control API: ${error.message}${hint}`, true);
    }
    timer = setTimeout(poll, document.hidden ? POLL_MS * 10 : POLL_MS);
  }

  function setStatus(text, failed) {
    const status = $("status");
    status.textContent = text;
    status.classList.toggle("error", failed);
  }

  async function reset() {
    const button = $("reset");
    button.disabled = true;
    try {
      const response = await fetch("/__mock/reset", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: "{}",
        credentials: "same-origin",
      });
      if (!response.ok) throw new HttpError(response.status, await problemText(response));
      etags.clear();
      await poll();
    } catch (error) {
      setStatus(`reset failed: ${error.message}`, true);
    } finally {
      button.disabled = false;
    }
  }

  function start() {
    const form = $("filters");
    form.addEventListener("change", () => {
      filters.api = $("filter-api").value;
      filters.account = $("filter-account").value;
      filters.operation = $("filter-operation").value;
      filters.status = $("filter-status").value;
      filters.violations = $("filter-violations").checked;
      applyFilters();
    });
    form.addEventListener("submit", (event) => event.preventDefault());
    $("reset").addEventListener("click", reset);
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden) poll();
    });
    poll();
  }

  document.addEventListener("DOMContentLoaded", start);
})();
