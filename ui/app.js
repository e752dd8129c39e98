// PackBench bench UI. Renders the station's view model and sends intents; no business rules here.
// Every command returns the whole view (AppView); background changes arrive as the typed
// `pb://view` event; live weight arrives on a tauri::ipc::Channel.
"use strict";

(function () {
  const T = window.__TAURI__;
  const $ = (id) => document.getElementById(id);
  const state = {
    lang: "zh",
    view: null,
    boot: null,
    screen: "signin",
    signin: { operator: null, role: null, pin: "" },
    modal: { kind: null, reason: null, pin: "" },
    lastVerdictSeq: -1,
    alarmShownSeq: -1,
    wedge: { buf: [], timer: null, nextId: 0, targets: new Map() },
    weight: null,
    rawLog: [],
  };

  // ---------- i18n ----------
  function t(key) {
    const table = window.PB_I18N[state.lang] || window.PB_I18N.zh;
    return table[key] !== undefined ? table[key] : (window.PB_I18N.zh[key] !== undefined ? window.PB_I18N.zh[key] : key);
  }
  function applyI18n() {
    document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
    document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
    $("btn-lang").textContent = state.lang === "zh" ? "EN" : "中文";
    if (state.view) render(state.view);
  }
  function outcomeText(code) { return t("o." + code); }

  // ---------- formatting (display only: integers from the station) ----------
  function grams(g) {
    if (g === null || g === undefined) return "—";
    const sign = g < 0 ? "-" : "";
    const a = Math.abs(g);
    return sign + (a >= 1000 ? Math.floor(a / 1000) + "." + String(a % 1000).padStart(3, "0") + " kg" : a + " g");
  }
  function yuan(fen) {
    if (fen === null || fen === undefined) return "—";
    const sign = fen < 0 ? "-" : "";
    const a = Math.abs(fen);
    return "¥" + sign + Math.floor(a / 100) + "." + String(a % 100).padStart(2, "0");
  }
  function age(seconds) {
    if (seconds === null || seconds === undefined) return "—";
    if (seconds < 60) return seconds + "s";
    if (seconds < 3600) return Math.floor(seconds / 60) + "m";
    return Math.floor(seconds / 3600) + "h" + Math.floor((seconds % 3600) / 60) + "m";
  }
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    if (attrs) for (const [k, v] of Object.entries(attrs)) {
      if (k === "class") e.className = v; else if (k === "text") e.textContent = v; else if (k.startsWith("on")) e.addEventListener(k.slice(2), v); else e.setAttribute(k, v);
    }
    for (const c of children) if (c !== null && c !== undefined) e.append(c);
    return e;
  }

  // ---------- IPC ----------
  async function call(cmd, args) {
    try {
      const v = await T.core.invoke(cmd, args || {});
      return v;
    } catch (err) {
      showError(err);
      throw err;
    }
  }
  async function act(cmd, args) {
    const v = await call(cmd, args);
    if (v && v.pack) render(v);
    return v;
  }
  function showError(err) {
    const msg = err && err.message ? err.message : String(err);
    const code = err && err.code ? " [" + err.code + "]" : "";
    const toast = $("toast");
    toast.textContent = t("err.prefix") + msg + code;
    toast.hidden = false;
    clearTimeout(showError.timer);
    showError.timer = setTimeout(() => { toast.hidden = true; }, 5000);
  }

  // ---------- screens ----------
  function show(screen) {
    state.screen = screen;
    document.querySelectorAll(".screen").forEach((s) => s.classList.toggle("active", s.id === "screen-" + screen));
    document.querySelectorAll("#nav button").forEach((b) => b.classList.toggle("active", b.dataset.screen === screen));
    if (screen === "queue") refreshQueue();
    if (screen === "devices") refreshDevices();
    if (screen === "report") refreshReport();
    if (screen === "settings") refreshSettings();
  }

  // ---------- pin pads ----------
  function buildPinpads() {
    document.querySelectorAll(".pinpad").forEach((pad) => {
      const target = pad.dataset.pinTarget;
      const keys = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "⌫", "0", "C"];
      for (const k of keys) {
        pad.append(el("button", { "data-key": k, text: k, onclick: () => pinKey(target, k) }));
      }
    });
  }
  function pinKey(target, k) {
    const holder = target === "signin" ? state.signin : state.modal;
    if (k === "⌫") holder.pin = holder.pin.slice(0, -1);
    else if (k === "C") holder.pin = "";
    else if (holder.pin.length < 12) holder.pin += k;
    $(target === "signin" ? "signin-pin" : "modal-pin").textContent = "●".repeat(holder.pin.length);
  }

  // ---------- sign-in ----------
  function renderSignin() {
    const list = $("operator-list");
    list.replaceChildren();
    for (const op of state.boot.operators) {
      const b = el("button", { "data-operator": op.id, text: op.name, onclick: () => {
        state.signin.operator = op.id;
        list.querySelectorAll("button").forEach((x) => x.classList.toggle("selected", x === b));
      } });
      list.append(b);
    }
    document.querySelectorAll("[data-role-choice]").forEach((b) => {
      b.onclick = () => {
        state.signin.role = b.dataset.roleChoice;
        document.querySelectorAll("[data-role-choice]").forEach((x) => x.classList.toggle("selected", x === b));
      };
    });
    $("station-name").value = state.boot.station_name || "";
  }
  async function doSignin() {
    const s = state.signin;
    if (!s.operator) return ($("signin-error").textContent = t("signin.need_operator"));
    if (!s.role) return ($("signin-error").textContent = t("signin.need_role"));
    if (s.role !== "packer" && !s.pin) return ($("signin-error").textContent = t("signin.need_pin"));
    $("signin-error").textContent = "";
    try {
      const v = await call("sign_in", { req: { operator: s.operator, role: s.role, station: $("station-name").value, pin: s.pin } });
      s.pin = ""; $("signin-pin").textContent = "";
      render(v);
      show("pack");
    } catch (err) {
      $("signin-error").textContent = err && err.message ? err.message : String(err);
    }
  }

  // ---------- rendering ----------
  function render(v) {
    state.view = v;
    const signed = v.session;
    $("nav").hidden = !signed;
    $("btn-signout").hidden = !signed;
    $("chip-user").hidden = !signed;
    $("chip-demo").hidden = !v.demo;
    if (signed) {
      $("chip-user").textContent = signed.operator_name + " · " + t("role." + signed.role) + " · " + signed.station;
      document.querySelectorAll("[data-role]").forEach((b) => { b.hidden = signed.role !== b.dataset.role; });
    } else if (state.screen !== "signin") {
      show("signin");
    }
    renderSync(v.queue);
    renderPack(v);
    renderExceptions(v);
    renderAlarm(v);
  }

  function renderSync(q) {
    if (!q) return;
    const chip = $("chip-sync");
    chip.classList.toggle("online", !!q.online);
    chip.classList.toggle("offline", !q.online);
    $("chip-sync-text").textContent = (q.online ? t("chip.online") : t("chip.offline")) + " · " + q.pending;
  }

  function renderPack(v) {
    const p = v.pack;
    const order = p.order;
    $("order-no").textContent = order ? order.order_no : "—";
    $("order-meta").replaceChildren();
    if (order) {
      $("order-meta").append(
        el("b", { text: order.carrier || "" }), " ", order.waybill_no || "", " · ", order.destination || "",
        order.shop ? " · " + order.shop : "");
    }
    $("pack-state").textContent = t("state." + p.state);

    // Verdict banner: the last scan's outcome, full width, coloured by alarm class.
    const vd = v.verdict;
    const banner = $("verdict");
    banner.className = vd ? vd.alarm : "idle";
    $("verdict-text").textContent = vd ? outcomeText(vd.outcome) : t("pack.scan_order");
    $("verdict-detail").textContent = vd && vd.detail ? vd.detail : "";

    // Lines with progress.
    const body = $("lines-body");
    body.replaceChildren();
    for (const l of p.lines) {
      const pct = l.ordered > 0 ? Math.min(100, Math.round((100 * l.scanned) / l.ordered)) : 0;
      const bar = el("div");
      bar.style.width = pct + "%";
      const tr = el("tr", { class: (l.scanned >= l.ordered ? "complete" : "") + (p.last_sku === l.sku ? " last" : ""), "data-sku": l.sku },
        el("td", null, l.name, l.serials && l.serials.length ? el("div", { class: "muted mono", text: t("pack.serials") + ": " + l.serials.join(", ") }) : null),
        el("td", { class: "mono", text: l.sku }),
        el("td", null, el("div", { class: "progress" }, bar)),
        el("td", { class: "count", text: l.scanned + "/" + l.ordered }));
      body.append(tr);
    }
    $("lines-empty").hidden = p.lines.length > 0;

    // Weight: expected, tolerance band, captured.
    $("weight-expected").textContent = grams(p.expected_g);
    $("weight-tolerance").textContent = p.tolerance_g !== null && p.tolerance_g !== undefined ? "± " + grams(p.tolerance_g) : "—";
    $("weight-captured").textContent = grams(p.captured_g);
    renderWeightBand();

    // Quote.
    if (p.quote) {
      $("quote-total").textContent = yuan(p.quote.total_fen) + "  " + p.quote.carrier + (p.quote.service ? " " + p.quote.service : "");
      $("quote-explain").textContent = state.lang === "zh" ? p.quote.explain_zh : p.quote.explain_en;
    } else {
      $("quote-total").textContent = "—";
      $("quote-explain").textContent = p.quote_error || "";
    }

    // Label and result.
    const lab = p.label;
    const ls = $("label-status");
    ls.textContent = t("label." + lab.status) + (lab.detail ? " · " + lab.detail : "");
    ls.className = "status-line " + (lab.status === "printed" ? "ok" : lab.status === "failed" ? "fail" : "");
    const img = $("label-preview");
    // The preview goes through a blob URL that is revoked when the next label replaces it, so
    // the page holds one decoded label at a time however many parcels are packed.
    if (lab.preview_png_b64) {
      if (state.previewB64 !== lab.preview_png_b64) {
        const bin = atob(lab.preview_png_b64);
        const bytes = new Uint8Array(bin.length);
        for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
        if (state.previewUrl) URL.revokeObjectURL(state.previewUrl);
        state.previewUrl = URL.createObjectURL(new Blob([bytes], { type: "image/png" }));
        state.previewB64 = lab.preview_png_b64;
        img.src = state.previewUrl;
      }
      img.hidden = false;
    } else {
      img.hidden = true;
    }
    const rs = $("result-status");
    rs.textContent = p.result ? t("result." + p.result.status) + " · " + p.result.result_id : "";
    rs.className = "status-line " + (p.result && p.result.status !== "dead" ? "ok" : "fail");

    // Actions enabled by what the station says is possible.
    const a = p.actions;
    $("act-undo").disabled = !a.undo; $("exc-undo").disabled = !a.undo;
    $("act-reweigh").disabled = !a.reweigh; $("exc-reweigh").disabled = !a.reweigh;
    $("act-override").disabled = !a.override; $("exc-override").disabled = !a.override;
    $("act-short").disabled = !a.short_pack; $("exc-short").disabled = !a.short_pack;
    $("act-reprint").disabled = !a.reprint; $("exc-reprint").disabled = !a.reprint;
    $("act-ack").disabled = !v.alarm;

    // Demo panel.
    const demo = $("demo-panel");
    demo.hidden = !v.demo;
    if (v.demo) {
      const codes = $("demo-codes");
      const sig = v.demo_codes.map((c) => c.code).join("|");
      if (codes.dataset.sig !== sig) {
        codes.dataset.sig = sig;
        codes.replaceChildren();
        for (const c of v.demo_codes) {
          codes.append(el("button", { "data-code": c.code, onclick: () => act("scan", { code: c.code }) }, c.label, el("small", { text: c.code })));
        }
      }
      const sc = v.scale;
      $("demo-scale-hint").textContent = sc ? (sc.on_scale ? t("demo.on_scale") : t("demo.empty")) : "";
      $("demo-place").disabled = sc && sc.on_scale;
      $("demo-remove").disabled = sc && !sc.on_scale;
      $("demo-heavy").disabled = sc && sc.on_scale;
    }
  }

  function renderWeightBand() {
    const p = state.view ? state.view.pack : null;
    const w = state.weight;
    const live = $("weight-live");
    live.textContent = w ? grams(w.grams) : "— g";
    live.className = "live " + (w ? (w.stable ? "stable" : "unstable") : "");
    const tol = $("band-tol");
    const needle = $("band-needle");
    if (p && p.expected_g) {
      const max = Math.max(p.expected_g * 2, 1);
      const lo = Math.max(0, p.expected_g - p.tolerance_g);
      const hi = p.expected_g + p.tolerance_g;
      tol.style.left = (100 * lo) / max + "%";
      tol.style.width = (100 * (hi - lo)) / max + "%";
      const g = w ? w.grams : (p.captured_g || 0);
      needle.style.left = Math.min(100, Math.max(0, (100 * g) / max)) + "%";
      tol.hidden = false; needle.hidden = false;
    } else {
      tol.hidden = true; needle.hidden = true;
    }
  }

  function renderExceptions(v) {
    const p = v.pack;
    $("exc-order").textContent = p.order ? p.order.order_no : "—";
    $("exc-state").textContent = t("state." + p.state) + (v.alarm ? " · " + outcomeText(v.alarm.outcome) : "");
    const body = $("exc-history");
    body.replaceChildren();
    for (const h of v.history || []) {
      body.append(el("tr", null, el("td", { class: "mono", text: h.at }), el("td", { class: "mono", text: h.order_no || "" }),
        el("td", { text: outcomeText(h.outcome) + (h.detail ? " · " + h.detail : "") })));
    }
  }

  // Full-screen alarm for warn/stop; stop repeats its sound until acknowledged.
  function renderAlarm(v) {
    const vd = v.verdict;
    if (vd && vd.seq !== state.lastVerdictSeq) {
      state.lastVerdictSeq = vd.seq;
      if (!v.alarm) window.PB_SOUND.alarm(vd.alarm === "notice" ? "notice" : vd.alarm === "ok" ? "ok" : vd.alarm);
    }
    const box = $("alarm");
    if (v.alarm) {
      box.className = v.alarm.class;
      $("alarm-title").textContent = outcomeText(v.alarm.outcome);
      $("alarm-detail").textContent = v.alarm.detail || "";
      $("alarm-override").hidden = !v.pack.actions.override;
      box.hidden = false;
      if (state.alarmShownSeq !== v.alarm.seq) {
        state.alarmShownSeq = v.alarm.seq;
        window.PB_SOUND.alarm(v.alarm.class);
      }
    } else {
      box.hidden = true;
      window.PB_SOUND.stop();
    }
  }

  // ---------- modal: override / short pack ----------
  function openModal(kind) {
    state.modal = { kind, reason: null, pin: "" };
    $("modal-title").textContent = kind === "short_pack" ? t("ovr.short_title") : t("ovr.title");
    $("modal-pin").textContent = "";
    $("modal-error").textContent = "";
    const list = $("modal-reasons");
    list.replaceChildren();
    for (const r of state.boot.reasons) {
      const b = el("button", { "data-reason": r.code, text: state.lang === "zh" ? r.zh : r.en, onclick: () => {
        state.modal.reason = r.code;
        list.querySelectorAll("button").forEach((x) => x.classList.toggle("selected", x === b));
      } });
      list.append(b);
    }
    $("modal").hidden = false;
  }
  async function confirmModal() {
    const m = state.modal;
    if (!m.reason) return ($("modal-error").textContent = t("ovr.need_reason"));
    if (!m.pin) return ($("modal-error").textContent = t("ovr.need_pin"));
    try {
      const v = await T.core.invoke(m.kind === "short_pack" ? "short_pack" : "supervisor_override", { req: { pin: m.pin, reason: m.reason } });
      render(v);
      const vd = v.verdict;
      if (vd && (vd.outcome === "override_rejected" || vd.outcome === "override_locked")) {
        m.pin = ""; $("modal-pin").textContent = "";
        $("modal-error").textContent = outcomeText(vd.outcome) + (vd.detail ? " · " + vd.detail : "");
        return;
      }
      $("modal").hidden = true;
    } catch (err) {
      $("modal-error").textContent = err && err.message ? err.message : String(err);
    }
  }

  // ---------- queue, devices, report, settings ----------
  async function refreshQueue() {
    const q = await call("queue_status");
    renderSync(q);
    $("q-online").textContent = q.online ? t("queue.online") : t("queue.offline");
    $("q-pending").textContent = q.pending;
    $("q-oldest").textContent = age(q.oldest_age_s);
    $("q-last").textContent = t("queue.last_ok") + (q.last_success_age_s === null ? t("queue.never") : age(q.last_success_age_s));
    const body = $("q-dead");
    body.replaceChildren();
    for (const d of q.dead) {
      body.append(el("tr", null, el("td", { class: "mono", text: d.order_no }), el("td", { class: "mono", text: d.result_id }),
        el("td", { text: d.reason }), el("td", { class: "mono", text: d.at })));
    }
    $("q-retry").disabled = q.dead.length === 0;
  }

  async function refreshDevices() {
    const devs = await call("devices");
    const cards = $("device-cards");
    cards.replaceChildren();
    const sel = $("diag-device");
    const keep = sel.value;
    sel.replaceChildren();
    for (const d of devs) {
      cards.append(el("div", { class: "panel device-card", "data-device": d.id },
        el("h3", { text: t("dev." + d.kind) + " · " + d.name }),
        el("div", { class: "status " + d.status, text: t("dev." + d.status) }),
        el("div", { class: "muted mono", text: d.detail })));
      sel.append(el("option", { value: d.id, text: t("dev." + d.kind) + " · " + d.name }));
    }
    if (keep) sel.value = keep;
  }
  async function diagnose(action) {
    const r = await call("diagnose", { req: { device: $("diag-device").value, action } });
    $("diag-result").textContent = r.summary + "\n\n" + (r.lines || []).join("\n");
  }
  function appendRaw(raw) {
    state.rawLog.push(raw.device + " " + raw.dir + " " + raw.hex + (raw.text ? "   |" + raw.text + "|" : ""));
    if (state.rawLog.length > 400) state.rawLog.splice(0, state.rawLog.length - 400);
    if (state.screen === "devices") {
      const pre = $("diag-raw");
      pre.textContent = state.rawLog.join("\n");
      pre.scrollTop = pre.scrollHeight;
    }
  }

  async function refreshReport() {
    const r = await call("shift_report");
    $("rep-parcels").textContent = r.parcels;
    $("rep-items").textContent = r.items;
    $("rep-variance").textContent = r.mean_abs_variance_g === null ? "—" : grams(r.mean_abs_variance_g);
    drawChart($("rep-chart"), r.per_hour);
    const body = $("rep-packers");
    body.replaceChildren();
    for (const p of r.per_packer) {
      body.append(el("tr", null, el("td", { text: p.operator }), el("td", { text: String(p.parcels) }), el("td", { text: String(p.items) }),
        el("td", { text: String(p.alarms) }), el("td", { text: String(p.overrides) })));
    }
  }
  // Bar chart in SVG: one bar per hour of the shift.
  function drawChart(svg, perHour) {
    const NS = "http://www.w3.org/2000/svg";
    svg.replaceChildren();
    const W = 600, H = 200, padL = 28, padB = 22, padT = 14;
    const max = Math.max(1, ...perHour.map((h) => h.parcels));
    const n = Math.max(1, perHour.length);
    const bw = (W - padL - 8) / n;
    const mk = (tag, attrs) => { const e = document.createElementNS(NS, tag); for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v); return e; };
    svg.append(mk("line", { class: "axis", x1: padL, y1: H - padB, x2: W - 4, y2: H - padB }));
    svg.append(mk("line", { class: "axis", x1: padL, y1: padT, x2: padL, y2: H - padB }));
    const top = mk("text", { x: 2, y: padT + 4 }); top.textContent = String(max); svg.append(top);
    perHour.forEach((h, i) => {
      const bh = ((H - padB - padT) * h.parcels) / max;
      const x = padL + i * bw + bw * 0.15;
      svg.append(mk("rect", { class: "bar", x, y: H - padB - bh, width: bw * 0.7, height: bh, "data-hour": h.hour }));
      const lab = mk("text", { x: x + bw * 0.35, y: H - 6, "text-anchor": "middle" }); lab.textContent = h.hour; svg.append(lab);
      if (h.parcels > 0) { const val = mk("text", { class: "val", x: x + bw * 0.35, y: H - padB - bh - 3, "text-anchor": "middle" }); val.textContent = String(h.parcels); svg.append(val); }
    });
  }

  async function refreshSettings() {
    const s = await call("settings");
    const kv = (dl, pairs) => { dl.replaceChildren(); for (const [k, v] of pairs) dl.append(el("dt", { text: k }), el("dd", { text: v })); };
    kv($("set-station"), s.station);
    kv($("set-devices"), s.devices);
    const body = $("set-cards");
    body.replaceChildren();
    for (const c of s.rate_cards) {
      body.append(el("tr", null, el("td", { text: c.carrier }), el("td", { text: c.service }), el("td", { text: String(c.zones) }), el("td", { class: "mono", text: c.source })));
    }
  }
  async function importRates() {
    const path = $("set-import-path").value.trim();
    if (!path) return;
    const prog = $("set-import-progress");
    prog.hidden = false; prog.removeAttribute("value");
    try {
      const r = await call("import_rates", { path });
      prog.value = 1;
      $("set-import-summary").textContent = r.ok ? t("set.imported") + ": " + r.cards + " · " + r.rows + " rows" : r.errors.length + " " + t("set.rows_failed");
      $("set-import-errors").replaceChildren(...r.errors.map((e) => el("div", { text: e })));
      refreshSettings();
    } finally {
      setTimeout(() => { prog.hidden = true; }, 800);
    }
  }

  // ---------- keyboard wedge ----------
  // Every key event is forwarded with its timestamp and held back; the station's wedge decoder
  // answers with scans (keys consumed) or releases the keys as typing. Released keys are put into
  // the text field that had focus, in order, so typing is never stolen; outside text fields they
  // are dropped. Works whatever element has focus.
  const WEDGE_FLUSH_MS = 8;
  function isTextField(target) {
    return target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA");
  }
  function onKey(ev) {
    if (ev.isComposing || ev.ctrlKey || ev.altKey || ev.metaKey) return;
    const key = ev.key;
    if (key.length !== 1 && key !== "Enter" && key !== "Tab") return;
    const w = state.wedge;
    ev.preventDefault();
    const id = ++w.nextId;
    w.targets.set(id, isTextField(ev.target) ? ev.target : null);
    w.buf.push({ id, key, t_ms: Math.round(performance.timeOrigin + ev.timeStamp) });
    if (!w.timer) w.timer = setTimeout(flushWedge, WEDGE_FLUSH_MS);
  }
  function releaseKeys(keys) {
    const w = state.wedge;
    for (const k of keys) {
      const field = w.targets.get(k.id);
      w.targets.delete(k.id);
      if (!field || !document.body.contains(field)) continue;
      if (k.key.length === 1) {
        const start = field.selectionStart ?? field.value.length;
        const end = field.selectionEnd ?? field.value.length;
        field.setRangeText(k.key, start, end, "end");
        field.dispatchEvent(new Event("input", { bubbles: true }));
      } else if (k.key === "Enter") {
        field.dispatchEvent(new KeyboardEvent("keyup", { key: "Enter", bubbles: true }));
      }
    }
  }
  async function flushWedge() {
    const w = state.wedge;
    w.timer = null;
    const keys = w.buf.splice(0, w.buf.length);
    if (!keys.length) return;
    try {
      const r = await T.core.invoke("wedge_keys", { keys });
      releaseKeys(r.released);
      if (r.scanned) for (const k of keys) w.targets.delete(k.id);
      if (r.view) render(r.view);
    } catch (err) {
      showError(err);
    }
  }

  // ---------- wiring ----------
  function wire() {
    document.querySelectorAll("#nav button").forEach((b) => b.addEventListener("click", () => show(b.dataset.screen)));
    $("btn-lang").addEventListener("click", () => { state.lang = state.lang === "zh" ? "en" : "zh"; applyI18n(); });
    document.querySelectorAll("[data-lang]").forEach((b) => b.addEventListener("click", () => { state.lang = b.dataset.lang; applyI18n(); }));
    $("btn-signin").addEventListener("click", doSignin);
    $("btn-signout").addEventListener("click", async () => { render(await call("sign_out")); show("signin"); });
    const bind = (ids, fn) => ids.forEach((id) => $(id).addEventListener("click", fn));
    bind(["act-undo", "exc-undo"], () => act("undo"));
    bind(["act-reweigh", "exc-reweigh"], () => act("reweigh"));
    bind(["act-reprint", "exc-reprint"], () => act("reprint"));
    bind(["act-override", "exc-override", "alarm-override"], () => openModal("override"));
    bind(["act-short", "exc-short"], () => openModal("short_pack"));
    bind(["act-ack", "alarm-ack"], () => act("acknowledge"));
    $("modal-ok").addEventListener("click", confirmModal);
    $("modal-cancel").addEventListener("click", () => { $("modal").hidden = true; });
    $("demo-place").addEventListener("click", () => act("demo_scale", { action: "place" }));
    $("demo-heavy").addEventListener("click", () => act("demo_scale", { action: "place_heavy" }));
    $("demo-remove").addEventListener("click", () => act("demo_scale", { action: "remove" }));
    $("q-retry").addEventListener("click", async () => { await call("retry_dead"); refreshQueue(); });
    $("diag-probe").addEventListener("click", () => diagnose("probe"));
    $("diag-testprint").addEventListener("click", () => diagnose("test_print"));
    $("diag-clear").addEventListener("click", () => { state.rawLog = []; $("diag-raw").textContent = ""; });
    $("set-import").addEventListener("click", importRates);
    document.addEventListener("keydown", onKey, true);
  }

  async function start() {
    buildPinpads();
    wire();
    applyI18n();
    state.boot = await call("bootstrap");
    renderSignin();
    render(state.boot.view);
    // Typed events from the station (one closed enum in Rust, mapped in one place).
    await T.event.listen("pb://view", (e) => render(e.payload));
    await T.event.listen("pb://raw", (e) => appendRaw(e.payload));
    await T.event.listen("pb://keys", (e) => releaseKeys(e.payload));
    await T.event.listen("pb://queue", (e) => { renderSync(e.payload); if (state.screen === "queue") refreshQueue(); });
    // Live weight on a channel (high rate, not an event).
    const ch = new T.core.Channel();
    ch.onmessage = (w) => { state.weight = w; renderWeightBand(); };
    await call("watch_weight", { channel: ch });
    document.body.dataset.ready = "1";
    await call("ui_ready");
  }

  window.addEventListener("DOMContentLoaded", () => { start().catch((e) => showError(e)); });
})();
