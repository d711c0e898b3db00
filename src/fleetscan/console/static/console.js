// fleetscan console: a plain client of the Huawei HSS v5 dialect (/v5/{project_id}/antivirus/...).
// Every value from the API reaches the page through textContent or attributes set one by one, never innerHTML.
"use strict";

(function () {
  const PAGE_SIZE = 10; // the smallest limit the HSS listings accept
  const REFRESH_MS = 3000; // how often the task list reloads while a scan runs
  const SWEEP_POLL_MS = 2000; // how often a running sweep is asked what it found
  const EPS = "all_granted_eps"; // every enterprise project the token may see

  const $ = (id) => document.getElementById(id);
  const state = {
    project: "",
    token: "",
    view: "tasks",
    offsets: { tasks: 0, hosts: 0, detections: 0, quarantine: 0, history: 0, policies: 0 },
    expanded: new Set(),
    selected: new Map(), // result_id -> the detection, for handling one or many at once
    editing: null, // the policy the form edits, or null for a new one
    timer: null,
    sweep: null, // the running sweep: {task_id, name, hosts, hashes, timer}, polled on whichever page is shown
  };

  // ------------------------------------------------------------------ DOM helpers
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value;
      else if (name === "dataset") Object.assign(node.dataset, value);
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function text(value) {
    return value === null || value === undefined || value === "" ? "—" : String(value);
  }

  function when(ms) {
    return ms ? new Date(Number(ms)).toLocaleString() : "—";
  }

  function duration(seconds) {
    const s = Number(seconds) || 0;
    if (s < 60) return `${s}s`;
    if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
    return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  }

  function badge(value, label) {
    return el("span", { class: `badge badge-${String(value).toLowerCase().replace(/[^a-z0-9]+/g, "-")}` }, label);
  }

  // ------------------------------------------------------------------ the API
  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  async function api(method, path, { query = {}, body = null } = {}) {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query)) {
      for (const one of Array.isArray(value) ? value : [value]) {
        if (one !== "" && one !== null && one !== undefined) params.append(name, String(one));
      }
    }
    const under = path.startsWith("/") ? path : `/antivirus/${path}`; // "/event/...", "/fleetscan/..." are not antivirus/
    const url = `/v5/${encodeURIComponent(state.project)}${under}` + (params.toString() ? `?${params}` : "");
    const headers = { "X-Auth-Token": state.token, Accept: "application/json" };
    if (body !== null) headers["Content-Type"] = "application/json";
    let reply;
    try {
      reply = await fetch(url, { method, headers, body: body === null ? undefined : JSON.stringify(body) });
    } catch (exc) {
      throw new ApiError(0, "network", `the server did not answer (${exc.message})`);
    }
    let data = null;
    try {
      data = await reply.json();
    } catch (_exc) {
      data = null;
    }
    if (!reply.ok) {
      const code = data && data.error_code ? data.error_code : `HTTP ${reply.status}`;
      const message = data && data.error_msg ? data.error_msg : reply.statusText || "request failed";
      throw new ApiError(reply.status, code, message);
    }
    return data || {};
  }

  function showError(exc) {
    const code = exc instanceof ApiError ? exc.code : "error";
    $("error-code").textContent = code;
    $("error-msg").textContent = exc.message;
    $("error").hidden = false;
    if (exc instanceof ApiError && exc.status === 401) signOut("Your token was refused: " + exc.message);
  }

  function clearError() {
    $("error").hidden = true;
  }

  // Runs an action; any failure is shown to the person, never swallowed.
  async function guarded(action) {
    try {
      await action();
    } catch (exc) {
      showError(exc);
    }
  }

  // ------------------------------------------------------------------ signing in
  function readFragment() {
    const fragment = new URLSearchParams(window.location.hash.replace(/^#/, ""));
    const project = fragment.get("project");
    const token = fragment.get("token");
    if (project && token) {
      sessionStorage.setItem("fleetscan.project", project);
      sessionStorage.setItem("fleetscan.token", token);
      // the token leaves the address bar (and so the history and bookmarks) once it is in the tab's storage
      history.replaceState(null, "", window.location.pathname + window.location.search);
    }
    $("login-project").value = sessionStorage.getItem("fleetscan.project") || "";
    $("login-token").value = sessionStorage.getItem("fleetscan.token") || "";
    return Boolean($("login-project").value && $("login-token").value);
  }

  async function signIn() {
    state.project = $("login-project").value.trim();
    state.token = $("login-token").value.trim();
    $("login-error").hidden = true;
    try {
      await loadStats();
    } catch (exc) {
      const code = exc instanceof ApiError ? exc.code : "error";
      $("login-error").textContent = `${code}: ${exc.message}`;
      $("login-error").hidden = false;
      showLogin();
      return;
    }
    sessionStorage.setItem("fleetscan.project", state.project);
    sessionStorage.setItem("fleetscan.token", state.token);
    $("who-project").textContent = state.project;
    $("who").hidden = false;
    $("login").hidden = true;
    $("app").hidden = false;
    await guarded(() => show(state.view));
  }

  function showLogin() {
    $("app").hidden = true;
    $("who").hidden = true;
    $("login").hidden = false;
  }

  function signOut(reason) {
    stopTimer();
    stopSweep();
    sessionStorage.removeItem("fleetscan.token");
    state.token = "";
    $("login-token").value = "";
    if (reason) {
      $("login-error").textContent = reason;
      $("login-error").hidden = false;
    }
    showLogin();
  }

  // ------------------------------------------------------------------ statistics
  async function loadStats() {
    const s = await api("GET", "statistic", { query: { enterprise_project_id: EPS } });
    $("stat-malware").textContent = text(s.total_malware_num);
    $("stat-hosts").textContent = text(s.malware_host_num);
    $("stat-tasks").textContent = text(s.total_task_num);
    $("stat-scanning").textContent = text(s.scanning_task_num);
    $("stat-latest").textContent = when(s.latest_scan_time);
  }

  // ------------------------------------------------------------------ views
  async function show(view) {
    state.view = view;
    for (const tab of document.querySelectorAll("[role=tab]")) {
      tab.setAttribute("aria-selected", String(tab.dataset.view === view));
    }
    for (const name of Object.keys(LOADERS)) $(`view-${name}`).hidden = name !== view;
    stopTimer();
    await LOADERS[view]();
  }

  function pager(name, total) {
    const box = document.querySelector(`.pager[data-for=${name}]`);
    const offset = state.offsets[name];
    const first = total ? offset + 1 : 0;
    const last = Math.min(offset + PAGE_SIZE, total);
    const move = (to) => () => {
      state.offsets[name] = to;
      guarded(LOADERS[name]);
    };
    box.replaceChildren(
      el("button", { type: "button", disabled: offset <= 0, onclick: move(Math.max(0, offset - PAGE_SIZE)) }, "‹ Previous"),
      el("span", { class: "subtle" }, `${first}–${last} of ${total}`),
      el("button", { type: "button", disabled: last >= total, onclick: move(offset + PAGE_SIZE) }, "Next ›"),
    );
  }

  function emptyRow(columns, message) {
    return el("tr", { class: "empty" }, el("td", { colspan: columns }, message));
  }

  // Tasks ---------------------------------------------------------------
  async function loadTasks() {
    const query = {
      offset: state.offsets.tasks,
      limit: PAGE_SIZE,
      whether_paid_task: $("task-paid").value,
      task_status: $("task-status").value,
      last_days: $("task-days").value,
      enterprise_project_id: EPS,
    };
    const [data] = await Promise.all([api("GET", "task", { query }), loadStats()]);
    const tasks = data.data_list || [];
    const rows = [];
    for (const task of tasks) rows.push(...taskRows(task));
    if (!rows.length) rows.push(emptyRow(7, "No scan tasks here yet. Start one with “New scan”."));
    $("tasks-table").tBodies[0].replaceChildren(...rows);
    pager("tasks", data.total_num || 0);
    const scanning = tasks.some((t) => t.task_status === "scanning");
    $("tasks-auto").hidden = !scanning;
    stopTimer();
    if (scanning && state.view === "tasks") state.timer = setTimeout(() => guarded(loadTasks), REFRESH_MS);
  }

  const TASK_STATUS = { scanning: "Scanning", finish: "Finished", fail: "Failed", cancel: "Cancelled" };
  const HOST_STATUS = { scanning: "Scanning", success: "Done", fail: "Failed", cancel: "Cancelled" };
  const SCAN_TYPE = { quick: "Quick", full: "Full", custom: "Custom" };

  function taskRows(task) {
    const open = state.expanded.has(task.task_id);
    const toggle = el(
      "button",
      {
        type: "button",
        class: "expander",
        "aria-expanded": String(open),
        title: open ? "Hide hosts" : "Show hosts",
        onclick: () => {
          if (state.expanded.has(task.task_id)) state.expanded.delete(task.task_id);
          else state.expanded.add(task.task_id);
          guarded(loadTasks);
        },
      },
      open ? "▾" : "▸",
    );
    const hosts = taskProgress(task);
    const cancel =
      task.task_status === "scanning"
        ? el("button", { type: "button", class: "danger", onclick: () => cancelTask(task) }, "Cancel")
        : null;
    const row = el(
      "tr",
      { class: "task", dataset: { taskId: task.task_id } },
      el("td", {}, toggle),
      el("td", {}, el("div", { class: "task-name" }, text(task.task_name)), el("div", { class: "mono subtle" }, task.task_id)),
      el("td", {}, SCAN_TYPE[task.scan_type] || text(task.scan_type)),
      el("td", {}, badge(task.task_status, TASK_STATUS[task.task_status] || text(task.task_status))),
      el("td", {}, when(task.start_time)),
      el("td", { class: "hosts" }, hosts),
      el("td", { class: "actions" }, cancel),
    );
    if (!open) return [row];
    const detail = el(
      "tr",
      { class: "task-hosts" },
      el("td", {}),
      el("td", { colspan: 6 }, hostTable(task.host_info_list || [])),
    );
    return [row, detail];
  }

  // The whole task's progress in its row: the mean of its hosts' progress, and what the hosts came to.
  function taskProgress(task) {
    const list = task.host_info_list || [];
    const pcts = list.map((h) => Math.max(0, Math.min(100, parseInt(h.scan_progress, 10) || 0)));
    const pct = pcts.length ? Math.floor(pcts.reduce((a, b) => a + b, 0) / pcts.length) : 0;
    const parts = [`${task.success_host_num} of ${task.host_num} done`];
    if (task.fail_host_num) parts.push(`${task.fail_host_num} failed`);
    if (task.cancel_host_num) parts.push(`${task.cancel_host_num} cancelled`);
    const bits = [el("div", { class: "subtle" }, parts.join(" · "))];
    if (task.task_status === "scanning") bits.unshift(progressBar(pct, "scanning"));
    return bits;
  }

  function progressBar(pct, status) {
    const bar = el("div", { class: "bar", role: "progressbar", "aria-valuenow": pct, "aria-valuemin": 0, "aria-valuemax": 100 });
    const fill = el("div", { class: `bar-fill bar-${status}` });
    fill.style.width = `${pct}%`;
    bar.append(fill);
    return el("div", { class: "progress" }, bar, el("span", { class: "pct" }, `${pct}%`));
  }

  // Files the host's scan did not scan, by reason: one line, the example paths in its tooltip.
  function notScanned(h) {
    if (!(h.not_scanned_num > 0)) return null;
    const parts = (h.not_scanned || []).map((n) => `${n.count} ${n.reason.replace(/_/g, " ")}`);
    const examples = (h.not_scanned || []).flatMap((n) => n.examples.map((p) => `${n.reason}: ${p}`));
    return el(
      "div",
      { class: "not-scanned", title: examples.join("\n") },
      `${h.not_scanned_num} not scanned (${parts.join(", ")})`,
    );
  }

  function hostTable(hosts) {
    const body = hosts.map((h) => {
      const pct = Math.max(0, Math.min(100, parseInt(h.scan_progress, 10) || 0));
      return el(
        "tr",
        { class: "subtask", dataset: { hostId: h.host_id } },
        el("td", {}, el("div", {}, text(h.host_name)), el("div", { class: "subtle" }, text(h.private_ip))),
        el("td", {}, badge(h.host_task_status, HOST_STATUS[h.host_task_status] || text(h.host_task_status))),
        el("td", {}, progressBar(pct, h.host_task_status)),
        el("td", { class: "num" }, text(h.scan_file_num)),
        el("td", { class: "num" }, el("span", { class: h.virus_num > 0 ? "alert" : "" }, text(h.virus_num))),
        el("td", {}, duration(h.run_duration)),
        el("td", {}, badge(h.agent_status, h.agent_status === "online" ? "Online" : "Offline")),
        el("td", { class: "reason" }, h.fail_reason ? h.fail_reason : "", notScanned(h)),
      );
    });
    if (!body.length) body.push(emptyRow(8, "No hosts in this task."));
    return el(
      "table",
      { class: "grid inner" },
      el(
        "thead",
        {},
        el(
          "tr",
          {},
          ["Host", "Status", "Progress", "Files", "Viruses", "Ran", "Agent", "Fail reason"].map((h) => el("th", {}, h)),
        ),
      ),
      el("tbody", {}, body),
    );
  }

  async function cancelTask(task) {
    if (!window.confirm(`Cancel the scan “${task.task_name}” on every host still scanning?`)) return;
    await guarded(async () => {
      await api("PUT", "task", { query: { enterprise_project_id: EPS }, body: { task_id: task.task_id } });
      clearError();
      await loadTasks();
    });
  }

  // Hosts ---------------------------------------------------------------
  // The last scan of each host, from the newest tasks of both kinds (the host listing has no such field).
  async function lastScans() {
    const last = new Map();
    for (const paid of ["false", "true"]) {
      const query = { offset: 0, limit: 200, whether_paid_task: paid, enterprise_project_id: EPS };
      const data = await api("GET", "task", { query });
      for (const task of data.data_list || []) {
        for (const h of task.host_info_list || []) {
          const seen = last.get(h.host_id);
          if (h.start_time && (!seen || h.start_time > seen.start_time)) last.set(h.host_id, { ...h, task_name: task.task_name });
        }
      }
    }
    return last;
  }

  async function loadHosts() {
    const query = { offset: state.offsets.hosts, limit: PAGE_SIZE, enterprise_project_id: EPS };
    const [data, last] = await Promise.all([api("GET", "host-management/hosts", { query }), lastScans()]);
    const rows = (data.data_list || []).map((h) => {
      const scan = last.get(h.host_id);
      return el(
        "tr",
        { class: "host", dataset: { hostId: h.host_id } },
        el("td", {}, el("div", {}, text(h.host_name)), el("div", { class: "mono subtle" }, text(h.host_id))),
        el("td", {}, badge(h.agent_status, h.agent_status === "online" ? "Online" : "Offline"),
          el("div", { class: "subtle agent-version" }, h.agent_version ? `agent ${h.agent_version}` : "—")),
        el("td", {}, el("div", {}, text(h.private_ip)), el("div", { class: "subtle" }, text(h.public_ip))),
        el("td", {}, text([h.os_type, h.os_name].filter(Boolean).join(" "))),
        el("td", { class: "last-scan" }, scan
          ? [el("div", {}, when(scan.start_time)), el("div", { class: "subtle" }, `${scan.task_name} · ${HOST_STATUS[scan.host_task_status] || scan.host_task_status}`)]
          : "never"),
        el("td", { class: "num open-alerts" }, el("span", { class: h.open_alert_num > 0 ? "alert" : "" }, text(h.open_alert_num ?? 0))),
        el("td", { class: "sig-version" }, h.signature_version ? `v${h.signature_version}` : "local only"),
      );
    });
    if (!rows.length) rows.push(emptyRow(7, "No hosts yet: enroll an agent with `fleetscan admin enroll-token`."));
    $("hosts-table").tBodies[0].replaceChildren(...rows);
    pager("hosts", data.total_num || 0);
  }

  // Detections ----------------------------------------------------------
  // operate_type values in words; each result's operate_accept_list says which of them it allows.
  const OPERATIONS = {
    manual_isolate_and_kill: "Isolate",
    do_not_isolate_or_kill: "Restore",
    ignore: "Ignore",
    do_not_ignore: "Stop ignoring",
    add_to_alarm_whitelist: "Whitelist",
    remove_from_alarm_whitelist: "Remove from whitelist",
    mark_as_handled: "Mark handled",
    unhandle: "Mark unhandled",
  };

  // How a handled result was handled, in words (handle_method).
  const HANDLED_AS = {
    manual_isolate_and_kill: "isolated",
    ignore: "ignored",
    add_to_alarm_whitelist: "whitelisted",
    mark_as_handled: "marked handled",
  };

  async function loadDetections() {
    const query = {
      offset: state.offsets.detections,
      limit: PAGE_SIZE,
      severity_list: $("det-severity").value,
      handle_status: $("det-handle").value,
      enterprise_project_id: EPS,
    };
    const [data] = await Promise.all([api("GET", "result", { query }), loadStats()]);
    state.selected.clear();
    const rows = (data.data_list || []).map((d) => {
      const file = d.file_info || {};
      const host = d.resource_info || {};
      const pick = el("input", {
        type: "checkbox",
        class: "pick",
        "aria-label": `select ${file.file_path || d.result_id}`,
        onchange: (event) => {
          if (event.target.checked) state.selected.set(d.result_id, d);
          else state.selected.delete(d.result_id);
          handleBar();
        },
      });
      const how = d.handle_status === "handled" ? HANDLED_AS[d.handle_method] || text(d.handle_method).replace(/_/g, " ") : null;
      return el(
        "tr",
        { class: "detection", dataset: { resultId: d.result_id } },
        el("td", {}, pick),
        el("td", {}, when(d.occur_time)),
        el("td", {}, el("div", {}, text(d.malware_name)), el("div", { class: "subtle" }, text(d.malware_type))),
        el("td", {}, badge(d.severity, text(d.severity))),
        el("td", { class: "mono path" }, text(file.file_path)),
        el("td", {}, el("div", {}, text(host.host_name)), el("div", { class: "subtle" }, text(host.private_ip))),
        el("td", {}, text(d.task_name)),
        el(
          "td",
          { class: "handling" },
          badge(d.handle_status, d.handle_status === "handled" ? "Handled" : "Unhandled"),
          how ? el("div", { class: "subtle" }, how) : null,
          d.memo ? el("div", { class: "subtle memo", title: d.memo }, d.memo) : null,
        ),
      );
    });
    if (!rows.length) rows.push(emptyRow(8, "Nothing found. Detections from scans appear here."));
    $("detections-table").tBodies[0].replaceChildren(...rows);
    $("det-all").checked = false;
    handleBar();
    pager("detections", data.total_num || 0);
  }

  // The handling bar offers the operations every selected result accepts.
  function handleBar() {
    const picked = [...state.selected.values()];
    $("handle-bar").hidden = !picked.length;
    $("handle-count").textContent = `${picked.length} selected`;
    const allowed = Object.keys(OPERATIONS).filter((op) => picked.every((d) => (d.operate_accept_list || []).includes(op)));
    const buttons = allowed.map((op) =>
      el("button", { type: "button", dataset: { op }, onclick: () => guarded(() => handle(op)) }, OPERATIONS[op]),
    );
    if (picked.length && !buttons.length) buttons.push(el("span", { class: "subtle" }, "no operation fits every selected alert"));
    $("handle-ops").replaceChildren(...buttons);
  }

  async function handle(op) {
    const picked = [...state.selected.values()];
    const body = {
      operate_type: op,
      memo: $("handle-memo").value.trim(),
      operate_results: picked.map((d) => ({ result_id: d.result_id })),
    };
    await api("POST", "result/operate", { query: { enterprise_project_id: EPS }, body });
    clearError();
    $("handle-memo").value = "";
    await loadDetections();
  }

  // Quarantine ----------------------------------------------------------
  const ISOLATION = { isolating: "Isolating", isolated: "Isolated", restoring: "Restoring", restored: "Restored" };

  async function loadQuarantine() {
    const query = { offset: state.offsets.quarantine, limit: PAGE_SIZE, isolation_status: $("q-status").value, enterprise_project_id: EPS };
    const data = await api("GET", "/event/isolated-file", { query });
    const rows = (data.data_list || []).map((f) =>
      el(
        "tr",
        { class: "isolated", dataset: { hostId: f.host_id } },
        el("td", {}, when(f.update_time)),
        el("td", { class: "mono path" }, el("div", {}, text(f.file_path)), el("div", { class: "subtle" }, text(f.file_hash))),
        el("td", {}, text(f.event_name)),
        el("td", {}, el("div", {}, text(f.host_name)), el("div", { class: "subtle" }, text(f.private_ip))),
        el("td", {}, badge(f.isolation_status, ISOLATION[f.isolation_status] || text(f.isolation_status))),
        el(
          "td",
          { class: "actions" },
          f.isolation_status === "isolated"
            ? el("button", { type: "button", onclick: () => restore(f) }, "Restore")
            : null,
        ),
      ),
    );
    if (!rows.length) rows.push(emptyRow(6, "No isolated files. Isolate a detection to move its file here."));
    $("quarantine-table").tBodies[0].replaceChildren(...rows);
    pager("quarantine", data.total_num || 0);
    // while an agent is still moving a file, follow it as the task list follows a scan
    const moving = (data.data_list || []).some((f) => f.isolation_status === "isolating" || f.isolation_status === "restoring");
    stopTimer();
    if (moving && state.view === "quarantine") state.timer = setTimeout(() => guarded(loadQuarantine), REFRESH_MS);
  }

  async function restore(f) {
    if (!window.confirm(`Put ${f.file_path} back on ${f.host_name}?`)) return;
    await guarded(async () => {
      const item = { host_id: f.host_id, file_hash: f.file_hash, file_path: f.file_path, file_attr: f.file_attr };
      await api("PUT", "/event/isolated-file", { query: { enterprise_project_id: EPS }, body: { data_list: [item] } });
      clearError();
      await loadQuarantine();
    });
  }

  // Handling history ----------------------------------------------------
  async function loadHistory() {
    const query = { offset: state.offsets.history, limit: PAGE_SIZE, enterprise_project_id: EPS };
    const data = await api("GET", "handle-history", { query });
    const rows = (data.data_list || []).map((r) =>
      el(
        "tr",
        { class: "history", dataset: { resultId: r.result_id } },
        el("td", {}, when(r.handle_time)),
        el("td", {}, OPERATIONS[r.handle_method] || text(r.handle_method).replace(/_/g, " ")),
        el("td", {}, el("div", {}, text(r.malware_name)), el("div", { class: "mono subtle path" }, text(r.file_path))),
        el("td", {}, el("div", {}, text(r.host_name)), el("div", { class: "subtle" }, text(r.private_ip))),
        el("td", {}, text(r.user_name)),
        el("td", { class: "memo" }, text(r.notes)),
      ),
    );
    if (!rows.length) rows.push(emptyRow(6, "Nothing handled yet."));
    $("history-table").tBodies[0].replaceChildren(...rows);
    pager("history", data.total_num || 0);
  }

  // Policies ------------------------------------------------------------
  const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
  const pad = (n) => String(n).padStart(2, "0");

  function schedule(p) {
    const at = `${pad(p.scan_hour)}:${pad(p.scan_minute)}`;
    if (p.start_type === "now") return "once, when created";
    if (p.start_type === "later") return `once, ${when(p.scan_time)}`;
    if (p.scan_period === "week") return `every ${DAYS[(p.scan_period_date - 1) % 7]} at ${at}`;
    if (p.scan_period === "month") return `monthly on day ${p.scan_period_date} at ${at}`;
    return `every day at ${at}`;
  }

  async function loadPolicies() {
    const query = { offset: state.offsets.policies, limit: PAGE_SIZE, enterprise_project_id: EPS };
    const data = await api("GET", "policy", { query });
    const rows = (data.data_list || []).map((p) =>
      el(
        "tr",
        { class: "policy", dataset: { policyId: p.policy_id } },
        el("td", {}, el("div", { class: "task-name" }, text(p.policy_name)), el("div", { class: "mono subtle" }, p.policy_id)),
        // the HSS policy has no scan_type field: folders mean a custom scan, none a quick or full one
        el("td", {}, p.scan_dir ? "Custom" : "Quick or full", p.scan_dir ? el("div", { class: "subtle mono" }, p.scan_dir) : null),
        el("td", { class: "when" }, schedule(p), p.invalidate ? el("div", {}, badge("cancel", "Expired")) : null),
        el("td", {}, p.next_start_time ? when(p.next_start_time) : "—"),
        el("td", {}, (p.host_info_list || []).map((h) => h.host_name).join(", ") || "—"),
        el("td", {}, p.action === "auto" ? "Isolate at once" : "Report only"),
        el(
          "td",
          { class: "actions" },
          el("button", { type: "button", onclick: () => guarded(() => openPolicyForm(p)) }, "Edit"),
          " ",
          el("button", { type: "button", class: "danger", onclick: () => deletePolicy(p) }, "Delete"),
        ),
      ),
    );
    if (!rows.length) rows.push(emptyRow(7, "No policies yet. A policy scans hosts on a schedule."));
    $("policies-table").tBodies[0].replaceChildren(...rows);
    pager("policies", data.total_num || 0);
  }

  async function allHosts() {
    const hosts = [];
    for (let offset = 0; ; offset += 200) {
      const query = { offset, limit: 200, enterprise_project_id: EPS };
      const data = await api("GET", "host-management/hosts", { query });
      hosts.push(...(data.data_list || []));
      if (!data.data_list || data.data_list.length < 200 || hosts.length >= (data.total_num || 0)) break;
    }
    return hosts;
  }

  function hostPicks(hosts, chosen) {
    const picks = hosts.map((h) =>
      el(
        "label",
        { class: "host-pick" },
        el("input", { type: "checkbox", name: "host", value: h.host_id, checked: chosen.has(h.host_id) }),
        ` ${text(h.host_name)} `,
        el("span", { class: "subtle" }, `${text(h.private_ip)} · ${h.agent_status}`),
      ),
    );
    if (!picks.length) picks.push(el("p", { class: "subtle" }, "No hosts to scan yet."));
    return picks;
  }

  async function openPolicyForm(policy) {
    state.editing = policy;
    const chosen = new Set((policy ? policy.host_info_list || [] : []).map((h) => h.host_id));
    $("policy-hosts").replaceChildren(...hostPicks(await allHosts(), chosen));
    $("policy-form-title").textContent = policy ? `Edit policy “${policy.policy_name}”` : "New policy";
    $("policy-name").value = policy ? policy.policy_name : "";
    $("policy-period").value = !policy ? "day" : policy.start_type === "period" ? policy.scan_period : "once";
    $("policy-once").value = policy && policy.start_type === "later" ? localInput(policy.scan_time) : "";
    $("policy-date").value = policy ? policy.scan_period_date : 1;
    $("policy-time").value = policy ? `${pad(policy.scan_hour)}:${pad(policy.scan_minute)}` : "02:00";
    // an edit sends scan_type only when changed: ListAntiVirusPolicy does not say which one a policy has
    $("policy-type-keep").hidden = $("policy-type-keep").disabled = !policy || Boolean(policy.scan_dir);
    $("policy-type").value = !policy ? "quick" : policy.scan_dir ? "custom" : "";
    $("policy-dir").value = policy ? policy.scan_dir : "";
    $("policy-action").value = policy ? policy.action : "manual";
    policyFormFields();
    $("policy-form-card").hidden = false;
    $("policy-name").focus();
  }

  // A time in ms as a datetime-local input's value (the browser's own time zone).
  function localInput(ms) {
    if (!ms) return "";
    const d = new Date(Number(ms));
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
  }

  function policyFormFields() {
    const period = $("policy-period").value;
    const once = period === "once";
    $("policy-once-label").hidden = !once;
    $("policy-once").required = once;
    $("policy-time-label").hidden = once;
    $("policy-time").required = !once;
    $("policy-date-label").hidden = period === "day" || once;
    $("policy-date").max = period === "week" ? 7 : 28;
    $("policy-dir-label").hidden = $("policy-type").value !== "custom";
  }

  async function savePolicy(event) {
    event.preventDefault();
    const [hour, minute] = $("policy-time").value.split(":").map((n) => parseInt(n, 10) || 0);
    const period = $("policy-period").value;
    const timing =
      period === "once"
        ? { start_type: "later", scan_time: new Date($("policy-once").value).getTime() }
        : {
            start_type: "period",
            scan_period: period,
            scan_period_date: period === "day" ? 1 : parseInt($("policy-date").value, 10) || 1,
            scan_hour: hour,
            scan_minute: minute,
            timezone_offset: -new Date().getTimezoneOffset(),
          };
    const body = {
      policy_name: $("policy-name").value.trim(),
      ...timing,
      scan_type: $("policy-type").value || undefined,
      action: $("policy-action").value,
      host_ids: [...document.querySelectorAll("#policy-hosts input[name=host]:checked")].map((i) => i.value),
    };
    if (body.scan_type === "custom") body.scan_dir = $("policy-dir").value.trim();
    const query = { enterprise_project_id: EPS };
    if (state.editing) await api("PUT", "policy", { query, body: { ...body, policy_id: state.editing.policy_id } });
    else await api("POST", "policy", { query, body });
    clearError();
    $("policy-form-card").hidden = true;
    state.editing = null;
    await loadPolicies();
  }

  async function deletePolicy(p) {
    if (!window.confirm(`Delete the policy “${p.policy_name}”? Scans it already started stay.`)) return;
    await guarded(async () => {
      await api("POST", "policy/batch-delete", { query: { enterprise_project_id: EPS }, body: { policy_ids: [p.policy_id] } });
      clearError();
      await loadPolicies();
    });
  }

  // Signature sets ------------------------------------------------------
  const SIGNATURES = "/fleetscan/signature-sets";

  function size(bytes) {
    const n = Number(bytes) || 0;
    if (n < 1024) return `${n} B`;
    if (n < 1048576) return `${(n / 1024).toFixed(1)} KiB`;
    return `${(n / 1048576).toFixed(1)} MiB`;
  }

  async function loadSignatures() {
    const data = await api("GET", SIGNATURES);
    $("sig-version").textContent = data.version
      ? `Version ${data.version}, made ${when(data.created_at)}: agents download it once and scan with it from their next scan.`
      : "No signature sets yet: agents scan with their own local signatures (out of the box, EICAR only).";
    const rows = [];
    for (const [name, files] of Object.entries(data.sets || {})) {
      files.forEach((f, i) =>
        rows.push(
          el(
            "tr",
            { class: "sig-file", dataset: { set: name } },
            el("td", { class: "task-name" }, i === 0 ? name : ""),
            el("td", { class: "mono" }, text(f.name)),
            el("td", {}, text(f.kind)),
            el("td", { class: "num" }, size(f.size)),
            el("td", { class: "mono subtle" }, text(f.sha256).slice(0, 16) + "…"),
            el(
              "td",
              { class: "actions" },
              i === 0 ? el("button", { type: "button", class: "danger", onclick: () => removeSet(name) }, "Remove set") : null,
            ),
          ),
        ),
      );
    }
    if (!rows.length) rows.push(emptyRow(6, "No signature sets. Upload YARA rules, ClamAV databases or SHA-256 lists."));
    $("signatures-table").tBodies[0].replaceChildren(...rows);
  }

  function base64(buffer) {
    const bytes = new Uint8Array(buffer);
    let binary = "";
    for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(binary);
  }

  async function uploadSignatures(event) {
    event.preventDefault();
    const files = [...$("sig-files").files];
    const encoded = await Promise.all(files.map(async (f) => ({ name: f.name, content_b64: base64(await f.arrayBuffer()) })));
    await api("POST", SIGNATURES, { body: { name: $("sig-name").value.trim(), files: encoded } });
    clearError();
    $("sig-files").value = "";
    await loadSignatures();
  }

  async function removeSet(name) {
    if (!window.confirm(`Remove the signature set “${name}”? Agents stop using it from their next scan.`)) return;
    await guarded(async () => {
      await api("DELETE", SIGNATURES, { query: { name } });
      clearError();
      await loadSignatures();
    });
  }

  // Sweep ---------------------------------------------------------------
  const SWEEP = "/fleetscan/sweep";
  const SHA256 = /^[0-9a-f]{64}$/;

  // The hashes typed, lower case, each once; or the first thing that is not one, to say so before any request.
  function typedHashes() {
    const hashes = [];
    for (const word of $("sweep-hashes").value.split(/[\s,;]+/)) {
      if (!word) continue;
      const hash = word.toLowerCase();
      if (!SHA256.test(hash)) {
        const shown = word.length > 80 ? `${word.slice(0, 77)}...` : word;
        return { problem: `“${shown}” is not a SHA-256 (64 hexadecimal digits).` };
      }
      if (!hashes.includes(hash)) hashes.push(hash);
    }
    return hashes.length ? { hashes } : { problem: "Type at least one SHA-256." };
  }

  async function loadSweep() {
    const chosen = new Set([...document.querySelectorAll("#sweep-hosts input[name=host]:checked")].map((i) => i.value));
    $("sweep-hosts").replaceChildren(...hostPicks(await allHosts(), chosen));
  }

  function hitRows(table, hits, message) {
    const rows = hits.map((h) =>
      el(
        "tr",
        { class: "sweep-hit", dataset: { hostId: h.host_id } },
        el("td", {}, el("div", {}, text(h.host_name)), el("div", { class: "mono subtle" }, h.host_id)),
        el("td", { class: "mono path" }, text(h.file_path)),
        el("td", { class: "mono subtle", title: h.sha256 }, `${text(h.sha256).slice(0, 16)}…`),
        el("td", {}, when(h.last_seen)),
      ),
    );
    if (!rows.length) rows.push(emptyRow(4, message));
    $(table).tBodies[0].replaceChildren(...rows);
  }

  function stopSweep() {
    if (state.sweep && state.sweep.timer !== null) clearTimeout(state.sweep.timer);
    if (state.sweep) state.sweep.timer = null;
  }

  const SWEEP_ENDED = { succeeded: "ended", failed: "failed", timed_out: "timed out", cancelled: "was cancelled" };

  async function startSweep(event) {
    event.preventDefault();
    const typed = typedHashes();
    $("sweep-invalid").textContent = typed.problem || "";
    $("sweep-invalid").hidden = !typed.problem;
    if (typed.problem) return;
    stopSweep();
    state.sweep = null;
    const hostIds = [...document.querySelectorAll("#sweep-hosts input[name=host]:checked")].map((i) => i.value);
    $("sweep-start").disabled = true;
    let looked = false;
    try {
      // what the fleet already reported, at once, before any agent has scanned
      $("sweep-status").textContent = "Looking up what the hosts reported before…";
      const known = await api("GET", SWEEP, { query: { sha256: typed.hashes } });
      hitRows("sweep-known", known.known || [], "No host reported such a file before.");
      looked = true;
      $("sweep-found-title").textContent = "Found by this sweep";
      hitRows("sweep-found", [], "Starting the sweep…");
      const body = { sha256: typed.hashes };
      if (hostIds.length) body.host_ids = hostIds;
      const started = await api("POST", SWEEP, { body });
      clearError();
      hitRows("sweep-known", started.known || [], "No host reported such a file before.");
      state.sweep = { ...started, hashes: typed.hashes, timer: null };
      hitRows("sweep-found", [], "Waiting for the hosts to report…");
      $("sweep-found-title").textContent = `Found by ${started.name}`;
      const missing = started.missing_host_ids || [];
      state.sweep.note = missing.length ? ` (${missing.length} chosen host(s) no longer exist)` : "";
      $("sweep-status").textContent = `Sweeping ${started.hosts} host(s)${state.sweep.note}…`;
      await pollSweep();
    } catch (exc) {
      $("sweep-status").textContent = "";
      if (!looked) hitRows("sweep-known", [], "The lookup was refused.");
      if (!state.sweep) hitRows("sweep-found", [], "The sweep did not start.");
      throw exc;
    } finally {
      $("sweep-start").disabled = false;
    }
  }

  // Asks the sweep what it found so far, every SWEEP_POLL_MS while its task runs; says when it ended.
  async function pollSweep() {
    const sweep = state.sweep;
    if (!sweep) return;
    sweep.timer = null;
    const data = await api("GET", SWEEP, { query: { sha256: sweep.hashes, task_id: sweep.task_id } });
    if (state.sweep !== sweep) return; // a newer sweep took its place meanwhile
    const found = data.found || [];
    hitRows("sweep-found", found, "Nothing found yet.");
    const holding = new Set(found.map((h) => h.host_id)).size;
    const tally = `${found.length} file(s) on ${holding} of ${sweep.hosts} host(s)${sweep.note}`;
    if (data.status in SWEEP_ENDED) {
      $("sweep-status").textContent = `The sweep ${SWEEP_ENDED[data.status]} at ${new Date().toLocaleTimeString()}: ${tally}.`;
      await loadStats(); // its findings are alerts, and it is a task: the tiles count them
      return;
    }
    $("sweep-status").textContent = `Sweeping ${sweep.hosts} host(s)… ${tally} so far.`;
    sweep.timer = setTimeout(() => guarded(pollSweep), SWEEP_POLL_MS);
  }

  const LOADERS = {
    tasks: loadTasks,
    hosts: loadHosts,
    detections: loadDetections,
    quarantine: loadQuarantine,
    history: loadHistory,
    policies: loadPolicies,
    signatures: loadSignatures,
    sweep: loadSweep,
  };

  function stopTimer() {
    if (state.timer !== null) clearTimeout(state.timer);
    state.timer = null;
  }

  // ------------------------------------------------------------------ starting a scan
  async function openScanForm() {
    $("scan-hosts").replaceChildren(...hostPicks(await allHosts(), new Set()));
    if (!$("scan-name").value) $("scan-name").value = `scan ${new Date().toLocaleString()}`;
    $("scan-form-card").hidden = false;
    $("scan-name").focus();
  }

  async function startScan(event) {
    event.preventDefault();
    const hostIds = [...document.querySelectorAll("#scan-hosts input[name=host]:checked")].map((i) => i.value);
    const type = $("scan-type").value;
    const body = { task_name: $("scan-name").value.trim(), scan_type: type, action: "manual", host_ids: hostIds };
    const query = { enterprise_project_id: EPS };
    let result;
    if (type === "custom") {
      body.scan_dir = $("scan-dir").value.trim();
      result = await api("POST", "pay-per-scan/tasks", { query, body });
    } else {
      result = await api("POST", "task", { query, body });
    }
    clearError();
    if (result.fail_reasons && result.fail_reasons.length) {
      const reasons = result.fail_reasons.map((r) => `${r.host_id}: ${r.reason}`).join("; ");
      showError(new ApiError(200, "some hosts were skipped", reasons));
    }
    $("scan-form-card").hidden = true;
    $("scan-name").value = "";
    $("task-paid").value = type === "custom" ? "true" : "false";
    $("task-status").value = "";
    state.offsets.tasks = 0;
    state.expanded.add(result.task_id);
    await show("tasks");
  }

  // ------------------------------------------------------------------ wiring
  function wire() {
    $("login-form").addEventListener("submit", (event) => {
      event.preventDefault();
      signIn();
    });
    $("sign-out").addEventListener("click", () => signOut(""));
    $("error-close").addEventListener("click", clearError);
    for (const tab of document.querySelectorAll("[role=tab]")) {
      tab.addEventListener("click", () => guarded(() => show(tab.dataset.view)));
    }
    for (const [id, view] of [
      ["task-paid", "tasks"],
      ["task-status", "tasks"],
      ["task-days", "tasks"],
      ["det-severity", "detections"],
      ["det-handle", "detections"],
      ["q-status", "quarantine"],
    ]) {
      $(id).addEventListener("change", () => {
        state.offsets[view] = 0;
        guarded(LOADERS[view]);
      });
    }
    $("tasks-refresh").addEventListener("click", () => guarded(loadTasks));
    $("hosts-refresh").addEventListener("click", () => guarded(loadHosts));
    $("detections-refresh").addEventListener("click", () => guarded(loadDetections));
    $("quarantine-refresh").addEventListener("click", () => guarded(loadQuarantine));
    $("history-refresh").addEventListener("click", () => guarded(loadHistory));
    $("signatures-refresh").addEventListener("click", () => guarded(loadSignatures));
    $("det-all").addEventListener("change", () => {
      for (const box of document.querySelectorAll("#detections-table input.pick")) {
        if (box.checked !== $("det-all").checked) box.click();
      }
    });
    $("new-policy").addEventListener("click", () => guarded(() => openPolicyForm(null)));
    $("policy-cancel").addEventListener("click", () => {
      $("policy-form-card").hidden = true;
      state.editing = null;
    });
    $("policy-period").addEventListener("change", policyFormFields);
    $("policy-type").addEventListener("change", policyFormFields);
    $("policy-form").addEventListener("submit", (event) => guarded(() => savePolicy(event)));
    $("sig-form").addEventListener("submit", (event) => guarded(() => uploadSignatures(event)));
    $("new-scan").addEventListener("click", () => guarded(openScanForm));
    $("scan-cancel").addEventListener("click", () => {
      $("scan-form-card").hidden = true;
    });
    $("scan-all").addEventListener("click", () => {
      for (const box of document.querySelectorAll("#scan-hosts input[name=host]")) box.checked = true;
    });
    $("scan-type").addEventListener("change", () => {
      const custom = $("scan-type").value === "custom";
      $("scan-dir-label").hidden = !custom;
      $("scan-dir").required = custom;
    });
    $("scan-form").addEventListener("submit", (event) => guarded(() => startScan(event)));
    $("sweep-form").addEventListener("submit", (event) => guarded(() => startSweep(event)));
  }

  document.addEventListener("DOMContentLoaded", () => {
    wire();
    if (readFragment()) signIn();
    else showLogin();
  });
})();
