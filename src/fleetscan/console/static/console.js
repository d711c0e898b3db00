// fleetscan console: a plain client of the Huawei HSS v5 dialect (/v5/{project_id}/antivirus/...).
// Every value from the API reaches the page through textContent or attributes set one by one, never innerHTML.
"use strict";

(function () {
  const PAGE_SIZE = 10; // the smallest limit the HSS listings accept
  const REFRESH_MS = 3000; // how often the task list reloads while a scan runs
  const EPS = "all_granted_eps"; // every enterprise project the token may see

  const $ = (id) => document.getElementById(id);
  const state = {
    project: "",
    token: "",
    view: "tasks",
    offsets: { tasks: 0, hosts: 0, detections: 0 },
    expanded: new Set(),
    timer: null,
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
      if (value !== "" && value !== null && value !== undefined) params.append(name, String(value));
    }
    const url = `/v5/${encodeURIComponent(state.project)}/antivirus/${path}` + (params.toString() ? `?${params}` : "");
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
    for (const name of ["tasks", "hosts", "detections"]) $(`view-${name}`).hidden = name !== view;
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
    const hosts = `${task.success_host_num} done · ${task.fail_host_num} failed · ${task.cancel_host_num} cancelled · ${task.host_num} total`;
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
      el("td", {}, hosts),
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
      const bar = el("div", { class: "bar", role: "progressbar", "aria-valuenow": pct, "aria-valuemin": 0, "aria-valuemax": 100 });
      const fill = el("div", { class: `bar-fill bar-${h.host_task_status}` });
      fill.style.width = `${pct}%`;
      bar.append(fill);
      return el(
        "tr",
        { class: "subtask", dataset: { hostId: h.host_id } },
        el("td", {}, el("div", {}, text(h.host_name)), el("div", { class: "subtle" }, text(h.private_ip))),
        el("td", {}, badge(h.host_task_status, HOST_STATUS[h.host_task_status] || text(h.host_task_status))),
        el("td", { class: "progress" }, bar, el("span", { class: "pct" }, `${pct}%`)),
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
  async function loadHosts() {
    const query = { offset: state.offsets.hosts, limit: PAGE_SIZE, enterprise_project_id: EPS };
    const data = await api("GET", "host-management/hosts", { query });
    const rows = (data.data_list || []).map((h) =>
      el(
        "tr",
        { class: "host", dataset: { hostId: h.host_id } },
        el("td", {}, text(h.host_name)),
        el("td", {}, badge(h.agent_status, h.agent_status === "online" ? "Online" : "Offline")),
        el("td", {}, text(h.private_ip)),
        el("td", {}, text(h.public_ip)),
        el("td", {}, text([h.os_type, h.os_name].filter(Boolean).join(" "))),
        el("td", { class: "mono subtle" }, text(h.host_id)),
      ),
    );
    if (!rows.length) rows.push(emptyRow(6, "No hosts yet: enroll an agent with `fleetscan admin enroll-token`."));
    $("hosts-table").tBodies[0].replaceChildren(...rows);
    pager("hosts", data.total_num || 0);
  }

  // Detections ----------------------------------------------------------
  async function loadDetections() {
    const query = {
      offset: state.offsets.detections,
      limit: PAGE_SIZE,
      severity_list: $("det-severity").value,
      handle_status: $("det-handle").value,
      enterprise_project_id: EPS,
    };
    const [data] = await Promise.all([api("GET", "result", { query }), loadStats()]);
    const rows = (data.data_list || []).map((d) => {
      const file = d.file_info || {};
      const host = d.resource_info || {};
      return el(
        "tr",
        { class: "detection", dataset: { resultId: d.result_id } },
        el("td", {}, when(d.occur_time)),
        el("td", {}, el("div", {}, text(d.malware_name)), el("div", { class: "subtle" }, text(d.malware_type))),
        el("td", {}, badge(d.severity, text(d.severity))),
        el("td", { class: "mono path" }, text(file.file_path)),
        el("td", {}, el("div", {}, text(host.host_name)), el("div", { class: "subtle" }, text(host.private_ip))),
        el("td", {}, text(d.task_name)),
        el("td", {}, badge(d.handle_status, d.handle_status === "handled" ? "Handled" : "Unhandled")),
      );
    });
    if (!rows.length) rows.push(emptyRow(7, "Nothing found. Detections from scans appear here."));
    $("detections-table").tBodies[0].replaceChildren(...rows);
    pager("detections", data.total_num || 0);
  }

  const LOADERS = { tasks: loadTasks, hosts: loadHosts, detections: loadDetections };

  function stopTimer() {
    if (state.timer !== null) clearTimeout(state.timer);
    state.timer = null;
  }

  // ------------------------------------------------------------------ starting a scan
  async function openScanForm() {
    const hosts = [];
    for (let offset = 0; ; offset += 200) {
      const query = { offset, limit: 200, enterprise_project_id: EPS };
      const data = await api("GET", "host-management/hosts", { query });
      hosts.push(...(data.data_list || []));
      if (!data.data_list || data.data_list.length < 200 || hosts.length >= (data.total_num || 0)) break;
    }
    const picks = hosts.map((h) =>
      el(
        "label",
        { class: "host-pick" },
        el("input", { type: "checkbox", name: "host", value: h.host_id }),
        ` ${text(h.host_name)} `,
        el("span", { class: "subtle" }, `${text(h.private_ip)} · ${h.agent_status}`),
      ),
    );
    if (!picks.length) picks.push(el("p", { class: "subtle" }, "No hosts to scan yet."));
    $("scan-hosts").replaceChildren(...picks);
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
    ]) {
      $(id).addEventListener("change", () => {
        state.offsets[view] = 0;
        guarded(LOADERS[view]);
      });
    }
    $("tasks-refresh").addEventListener("click", () => guarded(loadTasks));
    $("hosts-refresh").addEventListener("click", () => guarded(loadHosts));
    $("detections-refresh").addEventListener("click", () => guarded(loadDetections));
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
  }

  document.addEventListener("DOMContentLoaded", () => {
    wire();
    if (readFragment()) signIn();
    else showLogin();
  });
})();
