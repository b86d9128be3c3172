// timeline.html: draws the jobs of #timeline-data. Text goes in with textContent only.
// Virtualised: rows have a fixed height, #spacer is as tall as all of them, and only the
// rows in view (and OVERSCAN more each side) are in the DOM, redrawn on scroll.
(() => {
  "use strict";
  const started = performance.now();
  const ROW = 20;
  const LABEL = 300;
  const RIGHT = 30;
  const OVERSCAN = 10;
  const data = JSON.parse(document.getElementById("timeline-data").textContent);
  const span = data.span > 0 ? data.span : 1;
  const rules = data.rules;
  const jobs = data.jobs.map((packed, index) => {
    const job = { index, rule: packed[0], s: packed[1], a: packed[2], e: packed[3] };
    job.queued = packed[4];
    job.run = packed[5];
    data.fields.forEach((field, i) => { job[field] = packed[6 + i]; });
    return job;
  });
  const body = document.body;
  const box = document.getElementById("rows");
  const spacer = document.getElementById("spacer");
  const axis = document.getElementById("axis");
  const overview = document.getElementById("overview");
  const tip = document.getElementById("tip");
  const grid = el("div", "grid-layer");
  const layer = el("div", "row-layer");
  spacer.append(grid, layer);

  const hidden = new Set();
  let failedOnly = false;
  let view = jobs;
  let width = 100;
  let drawn = "";
  let pinned = null;

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  const x = (t) => (t / span) * width;
  const ruleName = (job) => rules[job.rule].name || "(no rule)";

  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "";
    if (seconds < 10) return seconds.toFixed(1) + " s";
    const whole = Math.round(seconds);
    const pad = (n) => String(n).padStart(2, "0");
    if (whole < 60) return whole + " s";
    if (whole < 3600) return Math.floor(whole / 60) + " min " + pad(whole % 60) + " s";
    return Math.floor(whole / 3600) + " h " + pad(Math.floor((whole % 3600) / 60)) + " min";
  }

  function elapsed(seconds) {
    const whole = Math.round(seconds);
    const pad = (n) => String(n).padStart(2, "0");
    const h = Math.floor(whole / 3600);
    const m = Math.floor((whole % 3600) / 60);
    return (h ? h + ":" + pad(m) : String(m)) + ":" + pad(whole % 60);
  }

  function clock(t) {
    if (t === null || data.t0 === null) return "";
    return new Date(data.t0 + t * 1000).toISOString().replace("T", " ").replace("Z", " UTC");
  }

  // Where a job's bar starts and ends: queue wait up to its start (or its stop, or the end
  // of the record), run up to its stop (or the end of the record: still running).
  function geometry(job) {
    const start = job.s !== null ? job.s : job.a;
    if (start === null) return null;
    const stop = job.e !== null ? job.e : span;
    const queueEnd = job.a !== null ? job.a : stop;
    return { start, queueEnd, runStart: job.a, stop, open: job.e === null };
  }

  function resources(job) {
    const parts = [];
    if (job.vcpu) parts.push(job.vcpu + " vCPU");
    if (job.memory_mib) parts.push(job.memory_mib + " MiB");
    if (job.gpu && job.gpu !== "0") parts.push(job.gpu + " GPU");
    return parts.join(", ");
  }

  function label(job) {
    const text = ruleName(job) + (job.wildcards ? " " + job.wildcards : "");
    return text === "(no rule)" && job.job_name ? job.job_name : text;
  }

  function summaryLine(job) {
    return [label(job), "job " + job.jobid, job.batch_job_id, job.status,
      job.exit_code ? "exit " + job.exit_code : ""].filter(Boolean).join(" · ");
  }

  function buildRow(job, position) {
    const row = el("div", "row");
    if (position % 2) row.classList.add("odd");
    if (job.status === "FAILED") row.classList.add("failed");
    if (pinned === job) row.classList.add("selected");
    row.style.top = position * ROW + "px";
    row.style.height = ROW + "px";
    row.style.lineHeight = ROW + "px";
    row.dataset.index = job.index;
    const name = el("span", "label");
    name.style.width = LABEL + "px";
    name.append(el("span", "id", "#" + job.jobid + " "), label(job));
    const bar = el("div", "bar");
    bar.dataset.jobid = job.jobid;
    bar.dataset.status = job.status;
    bar.setAttribute("aria-label", summaryLine(job));
    const g = geometry(job);
    const colours = rules[job.rule];
    if (g === null) {
      bar.classList.add("nodata");
      bar.style.left = LABEL + "px";
    } else {
      const left = x(g.start);
      bar.style.left = LABEL + left + "px";
      bar.style.width = Math.max(2, x(g.stop) - left) + "px";
      const queue = el("span", "q");
      queue.style.width = Math.max(0, x(g.queueEnd) - left) + "px";
      queue.style.background = colours.light;
      bar.append(queue);
      if (g.runStart !== null) {
        const run = el("span", "r");
        run.style.left = x(g.runStart) - left + "px";
        run.style.width = Math.max(1, x(g.stop) - x(g.runStart)) + "px";
        run.style.background = colours.full;
        bar.append(run);
      }
      if (g.open) bar.classList.add("open");
    }
    if (job.status === "FAILED") {
      bar.classList.add("failed");
      bar.append(el("span", "mark", "\u2715"));
    } else if (job.status === "CANCELLED") {
      bar.classList.add("cancelled");
    }
    row.append(name, bar);
    return row;
  }

  function draw(force) {
    const first = Math.max(0, Math.floor(box.scrollTop / ROW) - OVERSCAN);
    const last = Math.min(view.length, Math.ceil((box.scrollTop + box.clientHeight) / ROW) + OVERSCAN);
    const key = first + ":" + last;
    if (key === drawn && !force) return;
    drawn = key;
    const rows = [];
    for (let i = first; i < last; i++) rows.push(buildRow(view[i], i));
    layer.replaceChildren(...rows);
    showWhere(first, last);
    body.dataset.rendered = layer.getElementsByClassName("bar").length;
    body.dataset.shown = view.length;
  }

  // On the overview, the submission times of the rows in view.
  const where = el("div", "where");
  overview.append(where);
  function showWhere(first, last) {
    const times = view.slice(first, last).map((job) => job.s).filter((s) => s !== null);
    where.hidden = times.length === 0 || (first === 0 && last === view.length);
    if (where.hidden) return;
    const from = x(Math.min(...times));
    where.style.left = LABEL + from + "px";
    where.style.width = Math.max(2, x(Math.max(...times)) - from) + "px";
  }

  function ticks() {
    const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800,
      21600, 43200, 86400];
    const wanted = Math.max(2, Math.floor(width / 90));
    let step = steps.find((s) => span / s <= wanted);
    if (step === undefined) step = Math.ceil(span / wanted / 86400) * 86400;
    const caption = el("span", "caption", "time since the first submission");
    caption.style.width = LABEL + "px";
    const marks = [caption];
    const lines = [];
    for (let t = 0; t <= span + 1e-9; t += step) {
      const tick = el("span", "tick", elapsed(t));
      tick.style.left = LABEL + x(t) + "px";
      marks.push(tick);
      const line = el("div", "grid");
      line.style.left = LABEL + x(t) + "px";
      lines.push(line);
    }
    axis.replaceChildren(...marks);
    grid.replaceChildren(...lines);
  }

  // The aggregate: how many of the jobs shown were queued and running at each pixel.
  function drawOverview() {
    const canvas = overview.querySelector("canvas") || overview.appendChild(el("canvas"));
    const height = 40;
    const ratio = window.devicePixelRatio || 1;
    canvas.style.left = LABEL + "px";
    canvas.style.width = width + "px";
    canvas.style.height = height + "px";
    canvas.width = Math.max(1, Math.round(width * ratio));
    canvas.height = Math.round(height * ratio);
    const columns = Math.max(1, Math.round(width));
    const queued = new Float64Array(columns + 1);
    const running = new Float64Array(columns + 1);
    const add = (counts, from, to) => {
      const a = Math.min(columns - 1, Math.max(0, Math.round(x(from))));
      const b = Math.min(columns, Math.max(a + 1, Math.round(x(to))));
      counts[a] += 1;
      counts[b] -= 1;
    };
    for (const job of view) {
      const g = geometry(job);
      if (g === null) continue;
      if (g.queueEnd > g.start || g.runStart === null) add(queued, g.start, g.queueEnd);
      if (g.runStart !== null) add(running, g.runStart, g.stop);
    }
    let peak = 1;
    let peakRunning = 0;
    for (let i = 1; i <= columns; i++) {
      queued[i] += queued[i - 1];
      running[i] += running[i - 1];
    }
    for (let i = 0; i < columns; i++) {
      peak = Math.max(peak, queued[i] + running[i]);
      peakRunning = Math.max(peakRunning, running[i]);
    }
    const context = canvas.getContext("2d");
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.clearRect(0, 0, width, height);
    for (let i = 0; i < columns; i++) {
      const r = (running[i] / peak) * height;
      const q = (queued[i] / peak) * height;
      context.fillStyle = "#475467";
      context.fillRect(i, height - r, 1, r);
      context.fillStyle = "#b8c4d6";
      context.fillRect(i, height - r - q, 1, q);
    }
    const note = overview.querySelector(".note") || overview.appendChild(el("span", "note"));
    note.style.width = LABEL + "px";
    note.textContent = "peak " + peakRunning + " running, " + peak + " queued or running";
  }

  function layout() {
    width = Math.max(100, box.clientWidth - LABEL - RIGHT);
    ticks();
    drawOverview();
    draw(true);
  }

  function applyFilter() {
    view = jobs.filter((job) => !hidden.has(job.rule) && (!failedOnly || job.status === "FAILED"));
    spacer.style.height = view.length * ROW + "px";
    box.scrollTop = Math.min(box.scrollTop, Math.max(0, view.length * ROW - box.clientHeight));
    drawOverview();
    draw(true);
  }

  function buildLegend() {
    const counts = rules.map(() => ({ jobs: 0, failed: 0 }));
    for (const job of jobs) {
      counts[job.rule].jobs += 1;
      if (job.status === "FAILED") counts[job.rule].failed += 1;
    }
    const items = rules.map((rule, index) => {
      const button = el("button");
      button.type = "button";
      button.dataset.rule = rule.name;
      button.setAttribute("aria-pressed", "true");
      const swatch = el("span", "swatch");
      const light = el("span");
      light.style.background = rule.light;
      const full = el("span");
      full.style.background = rule.full;
      swatch.append(light, full);
      const count = counts[index];
      button.append(swatch, rule.name || "(no rule)", el("span", "count", count.jobs.toLocaleString("en")));
      if (count.failed) {
        button.append(el("span", "count failed", count.failed.toLocaleString("en") + " \u2715"));
      }
      button.addEventListener("click", () => {
        if (hidden.has(index)) hidden.delete(index);
        else hidden.add(index);
        button.setAttribute("aria-pressed", String(!hidden.has(index)));
        applyFilter();
      });
      const item = el("li");
      item.append(button);
      return item;
    });
    document.getElementById("legend").replaceChildren(...items);
  }

  function showTip(job, left, top) {
    const failed = job.status === "FAILED";
    const entries = [
      ["Rule", ruleName(job)],
      ["Wildcards", job.wildcards],
      ["Snakemake job", job.jobid],
      ["Batch job id", job.batch_job_id || "\u2014"],
      ["Queue", job.queue],
      ["Status", job.status + (job.status_reason ? " \u2014 " + job.status_reason : "")],
      ["Exit code", job.exit_code || "\u2014"],
      ["Attempts", job.attempts],
      ["Resources", resources(job) || "\u2014"],
      ["Submitted", clock(job.s)],
      ["Started", clock(job.a)],
      ["Stopped", clock(job.e)],
      ["Queue wait", duration(job.queued) || "\u2014"],
      ["Run time", duration(job.run) || "\u2014"],
      ["Log stream", job.log_stream],
    ];
    const list = el("dl");
    for (const [name, value] of entries) {
      if (!value) continue;
      const dd = el("dd", failed && (name === "Status" || name === "Exit code") ? "failed" : "", value);
      list.append(el("dt", "", name), dd);
    }
    tip.replaceChildren(el("strong", "", job.job_name || label(job)), list);
    tip.hidden = false;
    const room = tip.getBoundingClientRect();
    tip.style.left = Math.max(4, Math.min(left + 14, window.innerWidth - room.width - 4)) + "px";
    const below = top + 16;
    tip.style.top = (below + room.height < window.innerHeight ? below : Math.max(4, top - room.height - 8)) + "px";
  }

  function rowJob(target) {
    const row = target.closest ? target.closest(".row") : null;
    return row ? jobs[Number(row.dataset.index)] : null;
  }

  function pin(job) {
    pinned = job;
    tip.classList.toggle("pinned", job !== null);
    if (job === null) tip.hidden = true;
    draw(true);
  }

  function select(jobid) {
    const position = view.findIndex((job) => job.jobid === jobid);
    if (position < 0) return;
    const job = view[position];
    box.scrollTop = Math.max(0, position * ROW - box.clientHeight / 2);
    pin(job);
    const rect = box.getBoundingClientRect();
    const g = geometry(job);
    const left = rect.left + LABEL + (g ? x(g.stop) : 0);
    showTip(job, left, rect.top + position * ROW - box.scrollTop + ROW);
  }

  function fromHash() {
    const match = /(?:^#|&)job=([^&]*)/.exec(location.hash);
    if (match) select(decodeURIComponent(match[1]));
  }

  let frame = 0;
  box.addEventListener("scroll", () => {
    if (!frame) frame = requestAnimationFrame(() => { frame = 0; draw(false); });
  });
  box.addEventListener("mousemove", (event) => {
    if (pinned) return;
    const job = rowJob(event.target);
    if (job) showTip(job, event.clientX, event.clientY);
    else tip.hidden = true;
  });
  box.addEventListener("mouseleave", () => { if (!pinned) tip.hidden = true; });
  box.addEventListener("click", (event) => {
    const job = rowJob(event.target);
    if (job && job !== pinned) {
      pin(job);
      showTip(job, event.clientX, event.clientY);
    } else {
      pin(null);
    }
  });
  document.addEventListener("keydown", (event) => { if (event.key === "Escape") pin(null); });
  document.getElementById("failed-only").addEventListener("change", (event) => {
    failedOnly = event.target.checked;
    applyFilter();
  });
  overview.addEventListener("click", (event) => {
    const t = ((event.clientX - overview.getBoundingClientRect().left - LABEL) / width) * span;
    let low = 0;
    let high = view.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      const s = view[mid].s === null ? Infinity : view[mid].s;
      if (s < t) low = mid + 1;
      else high = mid;
    }
    box.scrollTop = Math.max(0, low * ROW - ROW * 2);
  });
  window.addEventListener("resize", layout);
  window.addEventListener("hashchange", fromHash);

  body.dataset.bars = jobs.length;
  buildLegend();
  spacer.style.height = view.length * ROW + "px";
  layout();
  fromHash();
  body.dataset.drawMs = Math.round(performance.now() - started);
})();
