// tinykube dashboard: plain JavaScript, no build step. Pages are filled from the
// server's Server-Sent Events (/api/stream, /api/flow, /api/logs/...), which the
// server feeds from its watches; nothing here polls.
"use strict";

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

// --- page updates: overview, workloads, events ----------------------------------

function chip(pod) {
  return el("a", {class: "chip " + pod.state, href: `#logs/${pod.namespace}/${pod.name}`,
                  "data-pod": `${pod.namespace}/${pod.name}`, "data-state": pod.state,
                  title: `${pod.namespace}/${pod.name} ${pod.phase} ready ${pod.ready} restarts ${pod.restarts}`,
                  text: pod.name});
}

const pods = new Map();  // "ns/name" -> chip model, for the logs page's containers

function drawOverview(view) {
  pods.clear();
  const boxes = view.nodes.map((node) => {
    node.pods.forEach((p) => pods.set(`${p.namespace}/${p.name}`, p));
    const ready = node.status.startsWith("Ready");
    return el("div", {class: "node" + (ready ? "" : " not-ready"), "data-node": node.name},
      el("h3", {text: node.name}, el("span", {class: "status", text: node.status})),
      el("div", {class: "chips"}, ...node.pods.map(chip)));
  });
  $("nodes").replaceChildren(...boxes);
  view.unscheduled.forEach((p) => pods.set(`${p.namespace}/${p.name}`, p));
  $("unscheduled").replaceChildren(...view.unscheduled.map(chip));
}

function say(target, text, failed) {
  target.textContent = text;
  target.className = "result" + (failed ? " error" : "");
}

async function post(path, body, contentType) {
  const response = await fetch(path, {method: "POST", body,
                                      headers: {"Content-Type": contentType || "application/json"}});
  const answer = await response.json().catch(() => ({message: response.statusText}));
  if (!response.ok) throw new Error(answer.message || response.statusText);
  return answer;
}

async function act(path, body) {
  try {
    const answer = await post(path, JSON.stringify(body));
    say($("action-result"), answer.message, false);
  } catch (err) {
    say($("action-result"), err.message, true);
  }
}

function workloadRow(w) {
  const target = {resource: w.resource, namespace: w.namespace, name: w.name};
  const actions = el("td", {class: "actions"});
  if (w.scalable) {
    const input = el("input", {type: "number", min: "0", value: String(w.desired), class: "replicas"});
    actions.append(input, el("button", {class: "scale", text: "Scale",
      onclick: () => act("/api/scale", {...target, replicas: Number(input.value)})}));
  }
  if (w.restartable) {
    actions.append(el("button", {class: "restart", text: "Restart",
      onclick: () => act("/api/restart", target)}));
  }
  actions.append(el("a", {href: `#yaml/${w.resource}/${w.namespace}/${w.name}`, text: "YAML"}));
  return el("tr", {"data-kind": w.kind, "data-namespace": w.namespace, "data-name": w.name},
    el("td", {text: w.kind}), el("td", {text: w.namespace}), el("td", {text: w.name}),
    el("td", {class: "ready", text: `${w.ready}/${w.desired}`}),
    el("td", {}, el("span", {class: "health " + w.health, text: w.health})), actions);
}

function drawWorkloads(rows) {
  // A row whose replicas box has the focus is kept, so typing is not undone by an update.
  const body = $("workloads-table").tBodies[0];
  const focused = document.activeElement && body.contains(document.activeElement)
    ? document.activeElement.closest("tr") : null;
  const drawn = rows.map((w) => {
    if (focused && focused.dataset.kind === w.kind && focused.dataset.namespace === w.namespace
        && focused.dataset.name === w.name) {
      focused.querySelector(".ready").textContent = `${w.ready}/${w.desired}`;
      return focused;
    }
    return workloadRow(w);
  });
  body.replaceChildren(...drawn);
}

function drawEvents(events) {
  $("events-table").tBodies[0].replaceChildren(...events.map((e) =>
    el("tr", {class: e.type},
      el("td", {text: e.time}), el("td", {text: e.namespace}), el("td", {text: e.type}),
      el("td", {text: e.reason}), el("td", {text: e.object}),
      el("td", {text: e.message + (e.count > 1 ? ` (x${e.count})` : "")}))));
}

function connectPages() {
  const source = new EventSource("/api/stream");
  source.onopen = () => { $("live").textContent = "live"; $("live").classList.remove("off"); };
  source.onerror = () => { $("live").textContent = "reconnecting"; $("live").classList.add("off"); };
  source.addEventListener("overview", (e) => drawOverview(JSON.parse(e.data)));
  source.addEventListener("workloads", (e) => drawWorkloads(JSON.parse(e.data)));
  source.addEventListener("events", (e) => drawEvents(JSON.parse(e.data)));
}

// --- the flow view: a sequence diagram in SVG ------------------------------------

const SVG = "http://www.w3.org/2000/svg";
const LANE_WIDTH = 190, LEFT = 110, TOP = 40, ROW = 26, MAX_ARROWS = 400;
const LANE_COLOURS = {"controller-manager": "#12a4af", scheduler: "#a142f4", kubelet: "#1e8e3e",
                      "kube-proxy": "#1a73e8", apiserver: "#5f6368", dashboard: "#e8710a"};
const flow = {source: null, lanes: [], arrows: [], pending: false};

function laneColour(name) {
  return LANE_COLOURS[name.split("/")[0]] || (name.includes("(") ? "#b06000" : "#3c4043");
}

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function drawFlow() {
  flow.pending = false;
  const target = $("flow-svg");
  const first = flow.arrows.length ? flow.arrows[0].row : 0;
  const height = TOP + (flow.arrows.length + 1) * ROW;
  const x = (name) => LEFT + flow.lanes.indexOf(name) * LANE_WIDTH;
  target.setAttribute("width", LEFT + flow.lanes.length * LANE_WIDTH + 200);
  target.setAttribute("height", height);
  const defs = svg("defs", {});
  const nodes = [defs];
  for (const name of flow.lanes) {
    const id = "head-" + name.replace(/[^a-z0-9]/gi, "_");
    const marker = svg("marker", {id, viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 7,
                                  markerHeight: 7, orient: "auto-start-reverse"});
    marker.append(svg("path", {d: "M 0 0 L 10 5 L 0 10 z", fill: laneColour(name)}));
    defs.append(marker);
    nodes.push(svg("line", {class: "lane", x1: x(name), y1: TOP - 10, x2: x(name), y2: height}),
               svg("text", {class: "lane-name", x: x(name), y: 20, "text-anchor": "middle",
                            fill: laneColour(name)}, name));
  }
  for (const a of flow.arrows) {
    const y = TOP + (a.row - first + 1) * ROW;
    const owner = a.kind === "write" ? a.from : a.to;
    const colour = laneColour(owner);
    const head = "url(#head-" + owner.replace(/[^a-z0-9]/gi, "_") + ")";
    nodes.push(svg("text", {x: 4, y, class: "time"}, a.at));
    if (a.from === a.to) {  // the API server writing on its own
      nodes.push(svg("path", {class: "arrow " + a.kind, d: `M ${x(a.from)} ${y - 8} h 24 v 8 h -24`,
                              fill: "none", stroke: colour, "marker-end": head}));
    } else {
      nodes.push(svg("line", {class: "arrow " + a.kind, "data-kind": a.kind, x1: x(a.from), y1: y,
                              x2: x(a.to), y2: y, stroke: colour, "stroke-width": 1.5,
                              "marker-end": head}));
    }
    const left = Math.min(x(a.from), x(a.to)) + 6;
    nodes.push(svg("text", {class: "arrow-label", x: left, y: y - 4, fill: colour}, a.label));
  }
  target.replaceChildren(...nodes);
}

function scheduleFlowDraw() {
  if (!flow.pending) { flow.pending = true; requestAnimationFrame(drawFlow); }
}

function connectFlow() {
  if (flow.source) flow.source.close();
  flow.lanes = []; flow.arrows = [];
  scheduleFlowDraw();
  const query = new URLSearchParams({namespace: $("flow-namespace").value.trim(),
                                     everything: $("flow-everything").checked ? "true" : "false"});
  const source = new EventSource("/api/flow?" + query);
  flow.source = source;
  $("flow-state").textContent = "connecting";
  source.addEventListener("ready", () => { $("flow-state").textContent = "watching"; });
  source.addEventListener("reset", () => { $("flow-state").textContent = "flow log moved on; watching from now"; });
  source.addEventListener("lanes", (e) => { flow.lanes = JSON.parse(e.data).lanes; scheduleFlowDraw(); });
  source.addEventListener("arrow", (e) => {
    flow.arrows.push(JSON.parse(e.data));
    if (flow.arrows.length > MAX_ARROWS) flow.arrows.shift();
    scheduleFlowDraw();
  });
  source.onerror = () => { $("flow-state").textContent = "reconnecting"; };
}

// --- logs and YAML -----------------------------------------------------------------

let logSource = null;

function showLogs(namespace, name, container) {
  if (logSource) logSource.close();
  const model = pods.get(`${namespace}/${name}`);
  const containers = model ? model.containers : [];
  const chosen = container || containers[0] || "";
  $("logs-title").textContent = `Logs of pod ${namespace}/${name}`;
  $("logs-container").replaceChildren(...containers.map((c) =>
    el("option", c === chosen ? {value: c, selected: "selected", text: c} : {value: c, text: c})));
  $("logs-container").onchange = () => showLogs(namespace, name, $("logs-container").value);
  $("logs-yaml").href = `#yaml/pods/${namespace}/${name}`;
  const output = $("logs-output");
  output.textContent = "";
  const query = chosen ? "?" + new URLSearchParams({container: chosen}) : "";
  logSource = new EventSource(`/api/logs/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}${query}`);
  logSource.addEventListener("line", (e) => {
    output.append(JSON.parse(e.data).text + "\n");
    output.scrollTop = output.scrollHeight;
  });
  logSource.addEventListener("failure", (e) => {
    output.append("error: " + JSON.parse(e.data).message + "\n");
    logSource.close();
  });
  logSource.addEventListener("end", () => { output.append("[the container stopped]\n"); logSource.close(); });
}

async function showYaml(resource, namespace, name) {
  $("yaml-title").textContent = `${resource} ${namespace}/${name}`;
  say($("yaml-result"), "", false);
  const query = new URLSearchParams({resource, namespace, name});
  const response = await fetch("/api/yaml?" + query);
  if (response.ok) {
    $("yaml-text").value = await response.text();
  } else {
    $("yaml-text").value = "";
    say($("yaml-result"), (await response.json()).message, true);
  }
}

async function applyYaml() {
  const force = $("yaml-force").checked ? "true" : "false";
  try {
    const answer = await post("/api/apply?force=" + force, $("yaml-text").value, "application/yaml");
    say($("yaml-result"), answer.applied.join(", "), false);
  } catch (err) {
    say($("yaml-result"), err.message, true);
  }
}

// --- routing -----------------------------------------------------------------------

function route() {
  const [page, ...args] = (location.hash.slice(1) || "overview").split("/").map(decodeURIComponent);
  for (const section of document.querySelectorAll(".page")) section.classList.remove("shown");
  for (const link of document.querySelectorAll("nav a")) link.classList.remove("active");
  const section = $("page-" + page) || $("page-overview");
  section.classList.add("shown");
  const link = $("nav-" + page);
  if (link) link.classList.add("active");
  if (page !== "logs" && logSource) { logSource.close(); logSource = null; }
  if (page === "flow" && !flow.source) connectFlow();
  if (page === "logs") showLogs(args[0], args[1]);
  if (page === "yaml") showYaml(args[0], args[1], args[2]);
}

$("flow-form").addEventListener("submit", (e) => { e.preventDefault(); connectFlow(); });
$("yaml-apply").addEventListener("click", applyYaml);
window.addEventListener("hashchange", route);
connectPages();
route();
