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
    if (screen === "exceptions" && state.view) renderExceptions(state.view);
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
      document.querySelectorAll("[data-role]").forEach((b) => { b.hidden = !b.dataset.role.split(" ").includes(signed.role); });
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

    // Lines with progress: rebuilt only when something in them changed (a view arrives for
    // every weight capture and device change; the DOM should not churn all shift).
    const body = $("lines-body");
    const linesSig = JSON.stringify([state.lang, p.last_sku, p.lines]);
    if (body.dataset.sig !== linesSig) {
    body.dataset.sig = linesSig;
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
    ls.className = "status-line " + (lab.status === "printed" ? "ok" : lab.status === "failed" ? "fail" : lab.code ? "warn" : "");
    // A label that did not print must not go unnoticed: a toast with the printer's message
    // and the warning sound, once per failure.
    const failKey = lab.status === "failed" ? (lab.detail || "") + "|" + (p.result ? p.result.result_id : "") : "";
    if (failKey && failKey !== state.labelFailKey) {
      showError({ code: lab.code || "label_failed", message: t("label.failed") + " · " + (lab.detail || "") });
      window.PB_SOUND.alarm("warn");
    }
    state.labelFailKey = failKey;
    const img = $("label-preview");
    // The preview is a file the shell serves by name (pbpreview protocol): the view stays a
    // few KB and WebKit drops the previous decoded image when the next label replaces it.
    if (lab.preview) {
      if (state.preview !== lab.preview) {
        state.preview = lab.preview;
        img.src = T.core.convertFileSrc(lab.preview, "pbpreview");
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
    // The history table (up to 50 rows) is built only while its screen is shown and changed.
    const body = $("exc-history");
    const hist = v.history || [];
    const sig = state.lang + "|" + hist.length + "|" + JSON.stringify(hist[0] || null);
    if (state.screen !== "exceptions" || body.dataset.sig === sig) return;
    body.dataset.sig = sig;
    body.replaceChildren();
    for (const h of hist) {
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
    if (keep && devs.some((d) => d.id === keep)) sel.value = keep;
    state.devices = devs;
    diagButtons();
  }
  // Only the actions the selected device has: probe (scale), test print and status (printer),
  // test (scanner: recent scans; tower light: lamp cycle).
  function diagButtons() {
    const d = (state.devices || []).find((x) => x.id === $("diag-device").value);
    document.querySelectorAll("#screen-devices [data-action]").forEach((b) => {
      b.hidden = !d || !b.dataset.kinds.split(" ").includes(d.kind);
    });
  }
  async function diagnose(action) {
    $("diag-result").textContent = t("dev.running");
    try {
      const r = await call("diagnose", { req: { device: $("diag-device").value, action } });
      $("diag-result").textContent = r.summary + "\n\n" + (r.lines || []).join("\n");
    } catch (err) {
      $("diag-result").textContent = (err && err.message) || String(err);
    }
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

  // ---------- shift report ----------
  // The window is chosen by preset (current shift, previous shift, today, yesterday); the
  // station computes it in its own time zone and answers local hours.
  async function refreshReport() {
    const r = await call("shift_report", { req: { preset: state.reportPreset || "shift" } });
    document.querySelectorAll("#rep-presets [data-preset]").forEach((b) => b.classList.toggle("selected", b.dataset.preset === (state.reportPreset || "shift")));
    const hm = (iso) => iso.slice(0, 16).replace("T", " ");
    $("rep-window").textContent = hm(r.from) + " – " + hm(r.to) + "  (UTC" + r.utc_offset + ")";
    $("rep-parcels").textContent = r.parcels;
    $("rep-items").textContent = r.items;
    $("rep-variance").textContent = grams(r.variance.mean_abs_g);
    $("rep-max-variance").textContent = grams(r.variance.max_abs_g);
    $("rep-outside").textContent = r.variance.outside_tolerance;
    $("rep-alarms").textContent = r.alarms;
    $("rep-overrides").textContent = r.overrides;
    $("rep-short").textContent = r.short_packs;
    drawChart($("rep-chart"), r.per_hour);
    const body = $("rep-packers");
    body.replaceChildren();
    const name = (id) => { const o = state.boot && state.boot.operators.find((x) => x.id === id); return o ? o.name + " (" + id + ")" : id; };
    for (const p of r.per_packer) {
      body.append(el("tr", null, el("td", { text: name(p.operator) }), el("td", { text: String(p.parcels) }), el("td", { text: String(p.items) }),
        el("td", { text: String(p.warnings) }), el("td", { text: String(p.stops) }), el("td", { text: String(p.overrides) }),
        el("td", { text: String(p.short_packs) }), el("td", { text: grams(p.mean_abs_variance_g) }), el("td", { text: String(p.outside_tolerance) }),
        el("td", { text: p.mean_pack_s === null ? "—" : p.mean_pack_s + " s" })));
    }
    if (r.per_packer.length === 0) body.append(el("tr", null, el("td", { colspan: "10", class: "muted", text: t("rep.empty") })));
  }
  // Bar chart in SVG: every hour of the window on the axis, a bar for each hour with parcels.
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
    const every = Math.max(1, Math.ceil(n / 24));
    perHour.forEach((h, i) => {
      const x = padL + i * bw + bw * 0.15;
      if (h.parcels > 0) {
        const bh = ((H - padB - padT) * h.parcels) / max;
        const bar = mk("rect", { class: "bar", x, y: H - padB - bh, width: bw * 0.7, height: bh, "data-hour": h.hour });
        const tip = mk("title", {}); tip.textContent = h.start + ": " + h.parcels + " / " + h.items; bar.append(tip);
        svg.append(bar);
        const val = mk("text", { class: "val", x: x + bw * 0.35, y: H - padB - bh - 3, "text-anchor": "middle" }); val.textContent = String(h.parcels); svg.append(val);
      }
      if (i % every === 0) { const lab = mk("text", { x: x + bw * 0.35, y: H - 6, "text-anchor": "middle" }); lab.textContent = h.hour; svg.append(lab); }
    });
  }

  // ---------- settings ----------
  // The form shows the station's configuration; an admin edits it and saves only what changed.
  // Validation is the station's (errors name the field); saved changes apply after a restart.
  const listText = (v) => (v || []).join(", ");
  function fieldValue(input) {
    const kind = input.dataset.kind;
    const v = input.value.trim();
    if (kind === "int") return v === "" ? v : (/^-?\d+$/.test(v) ? Number(v) : v);
    if (kind === "bool") return v === "true";
    if (kind === "list") return v.split(/[,，\n]/).map((x) => x.trim()).filter((x) => x !== "");
    return v;
  }
  function settingsFields(s) {
    return {
      "station_id": s.station.station_id,
      "tolerance.abs_g": s.station.tolerance_abs_g,
      "tolerance.percent": s.station.tolerance_percent,
      "debounce_ms": s.station.debounce_ms,
      "default_packaging": s.station.default_packaging || "",
      "override_reasons": s.station.override_reasons,
      "require_sign_in": s.station.require_sign_in,
      "shift.utc_offset": s.station.utc_offset,
      "shift.starts": s.station.shift_starts,
      "order_center.kind": s.order_center.kind,
      "order_center.url": s.order_center.url,
      "scale.port": s.devices.scale_port || "",
      "scale.protocol": s.devices.scale_protocol,
      "scale.baud": s.devices.scale_baud,
      "scanner.sources": s.devices.scanner_sources,
      "tower_light.port": s.devices.tower_light_port || "",
      "tower_light.protocol": s.devices.tower_light_protocol,
      "labels.enabled": s.printing.enabled,
      "labels.printer": s.printing.printer,
      "labels.template": s.printing.template,
      "labels.format": s.printing.format,
    };
  }
  function packagingRows() {
    return Array.from($("set-packaging").querySelectorAll("tr")).map((tr) => {
      const [id, name, w] = tr.querySelectorAll("input");
      const g = w.value.trim();
      return { id: id.value.trim(), name: name.value.trim(), weight_g: /^-?\d+$/.test(g) ? Number(g) : g };
    });
  }
  function addPackagingRow(p, editable) {
    const inp = (v, cls) => { const i = el("input", { class: cls }); i.value = v; i.disabled = !editable; i.addEventListener("input", markDirty); return i; };
    const del = el("button", { class: "danger", text: "✕", onclick: (e) => { e.target.closest("tr").remove(); markDirty(); } });
    del.disabled = !editable;
    $("set-packaging").append(el("tr", null, el("td", null, inp(p.id, "mono")), el("td", null, inp(p.name, "")), el("td", null, inp(String(p.weight_g), "mono num")), el("td", null, del)));
  }
  function settingsChanges() {
    const s = state.settings;
    if (!s) return [];
    const before = settingsFields(s);
    const changes = [];
    document.querySelectorAll("#screen-settings [data-field]").forEach((input) => {
      const field = input.dataset.field;
      const now = fieldValue(input);
      if (JSON.stringify(now) !== JSON.stringify(before[field])) changes.push({ field, value: now });
    });
    const pk = packagingRows();
    if (JSON.stringify(pk) !== JSON.stringify(s.station.packaging.map((p) => ({ id: p.id, name: p.name, weight_g: p.weight_g })))) {
      changes.push({ field: "packaging", value: pk });
    }
    return changes;
  }
  function markDirty() {
    const n = settingsChanges().length;
    $("set-savebar").hidden = !(state.settings && state.settings.editable);
    $("set-save").disabled = n === 0;
    $("set-discard").disabled = n === 0;
    $("set-save-status").textContent = n === 0 ? t("set.no_changes") : n + " " + t("set.changes");
  }
  function renderSettings(s) {
    state.settings = s;
    $("set-mode").textContent = (s.demo ? t("chip.demo") + " · " : "") + (s.editable ? t("role.admin") : t("set.read_only"));
    document.querySelectorAll("#screen-settings [data-step]").forEach((b) => { b.disabled = !s.editable; });
    $("set-file").textContent = s.config_file;
    const sel = $("set-default-pack");
    sel.replaceChildren(el("option", { value: "", text: "—" }), ...s.station.packaging.map((p) => el("option", { value: p.id, text: p.name || p.id })));
    const values = settingsFields(s);
    document.querySelectorAll("#screen-settings [data-field]").forEach((input) => {
      const v = values[input.dataset.field];
      const text = Array.isArray(v) ? listText(v) : (v === null || v === undefined ? "" : String(v));
      if (input.tagName === "SELECT" && text !== "" && !Array.from(input.options).some((o) => o.value === text)) input.append(el("option", { value: text, text }));
      input.value = text;
      input.disabled = !s.editable;
    });
    $("set-packaging").replaceChildren();
    for (const p of s.station.packaging) addPackagingRow(p, s.editable);
    $("set-pack-add").disabled = !s.editable;
    const cred = $("set-oc-cred");
    cred.textContent = t("set.cred_" + s.order_center.credentials) + (s.order_center.missing.length ? " (" + s.order_center.missing.join(", ") + ")" : "");
    cred.className = "status " + (s.order_center.credentials === "missing" ? "fail" : "ok");
    $("set-oc-status").textContent = t("set.sync_" + s.order_center.status) + (s.order_center.detail ? " · " + s.order_center.detail : "");
    const body = $("set-cards");
    body.replaceChildren();
    for (const c of s.rate_cards) {
      body.append(el("tr", null, el("td", { text: c.carrier }), el("td", { text: c.service }), el("td", { text: String(c.zones) }),
        el("td", { class: "mono", text: c.source }), el("td", { class: "mono", text: c.effective_from })));
    }
    $("set-import-box").hidden = !s.editable;
    $("set-import-dir").textContent = s.import_dir;
    const files = $("set-import-files");
    files.replaceChildren(...s.import_files.map((f) => el("button", { class: "file", text: f, onclick: () => { $("set-import-path").value = f; } })));
    if (s.import_files.length === 0) files.append(el("span", { class: "muted", text: t("set.no_import_files") }));
    $("set-pending").hidden = s.pending.length === 0;
    $("set-pending-list").textContent = s.pending.map((a) => a.field).join(", ");
    $("set-restart").disabled = !s.editable;
    $("set-save-error").textContent = "";
    markDirty();
  }
  async function refreshSettings() {
    renderSettings(await call("settings"));
  }
  async function saveSettings() {
    const changes = settingsChanges();
    if (changes.length === 0) return;
    $("set-save-error").textContent = "";
    try {
      const r = await T.core.invoke("save_settings", { req: { changes } });
      renderSettings(r.view);
      $("set-save-status").textContent = r.applied.length + " " + t("set.saved");
    } catch (err) {
      $("set-save-error").textContent = (err && err.message) || String(err);
    }
  }
  async function restartApp() {
    await call("restart_app");
  }
  function onImportProgress(p) {
    const prog = $("set-import-progress");
    prog.hidden = false;
    prog.max = Math.max(1, p.rows_total);
    prog.value = p.rows_read;
    $("set-import-count").textContent = p.rows_read + " / " + p.rows_total + " " + t("set.rows");
  }
  async function importRates() {
    const path = $("set-import-path").value.trim();
    if (!path) return;
    const prog = $("set-import-progress");
    prog.hidden = false; prog.removeAttribute("value");
    $("set-import-count").textContent = "";
    $("set-import").disabled = true;
    try {
      const r = await call("import_rates", { path });
      prog.max = 1; prog.value = 1;
      $("set-import-count").textContent = r.rows + " " + t("set.rows");
      const sum = $("set-import-summary");
      sum.className = "status-line " + (r.ok ? "ok" : "fail");
      sum.textContent = r.ok
        ? t("set.imported") + ": " + r.cards + " " + t("set.cards") + (r.replaced ? " · " + t("set.replaced") + " " + r.replaced : "") + " · " + t("set.in_use") + " " + r.total + (r.saved_to ? " · " + r.saved_to : "")
        : (r.issues.length + r.more) + " " + t("set.rows_failed") + (r.more ? " (" + t("set.first") + " " + r.issues.length + ")" : "");
      const body = $("set-import-errors");
      body.replaceChildren(...r.issues.map((i) => el("tr", null, el("td", { text: i.sheet || "" }), el("td", { class: "mono", text: i.row === null ? "" : String(i.row) }),
        el("td", { class: "mono", text: i.column || "" }), el("td", { text: i.header || "" }), el("td", { text: i.message }))));
      $("set-import-table").hidden = r.issues.length === 0;
      if (r.ok) renderSettings(await call("settings"));
    } finally {
      $("set-import").disabled = false;
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
    document.querySelectorAll("#screen-devices [data-action]").forEach((b) => b.addEventListener("click", () => diagnose(b.dataset.action)));
    $("diag-device").addEventListener("change", diagButtons);
    $("diag-clear").addEventListener("click", () => { state.rawLog = []; $("diag-raw").textContent = ""; });
    $("set-import").addEventListener("click", importRates);
    $("set-save").addEventListener("click", saveSettings);
    $("set-discard").addEventListener("click", () => { if (state.settings) renderSettings(state.settings); });
    $("set-restart").addEventListener("click", restartApp);
    $("set-pack-add").addEventListener("click", () => { addPackagingRow({ id: "", name: "", weight_g: 0 }, true); markDirty(); });
    document.querySelectorAll("#screen-settings [data-field]").forEach((i) => { i.addEventListener("input", markDirty); i.addEventListener("change", markDirty); });
    document.querySelectorAll("[data-step]").forEach((b) => b.addEventListener("click", () => {
      const i = $(b.dataset.step);
      if (i.disabled) return;
      i.value = String(Math.max(0, (parseInt(i.value, 10) || 0) + Number(b.dataset.delta)));
      markDirty();
    }));
    document.querySelectorAll("#rep-presets [data-preset]").forEach((b) => b.addEventListener("click", () => { state.reportPreset = b.dataset.preset; refreshReport(); }));
    $("rep-refresh").addEventListener("click", refreshReport);
    document.addEventListener("keydown", onKey, true);
  }

  async function pullView() {
    if (state.pulling) { state.pullAgain = true; return; }
    state.pulling = true;
    try {
      do {
        state.pullAgain = false;
        const v = await T.core.invoke("latest_view");
        if (v) render(v);
      } while (state.pullAgain);
    } catch (err) {
      showError(err);
    } finally {
      state.pulling = false;
    }
  }

  async function start() {
    buildPinpads();
    wire();
    applyI18n();
    state.boot = await call("bootstrap");
    renderSignin();
    render(state.boot.view);
    // Typed events from the station (one closed enum in Rust, mapped in one place).
    // `pb://view` only announces a new view; the view itself is fetched (one at a time, the
    // latest wins), so WebKit never compiles a script per view.
    await T.event.listen("pb://view", () => pullView());
    await T.event.listen("pb://raw", (e) => appendRaw(e.payload));
    await T.event.listen("pb://keys", (e) => releaseKeys(e.payload));
    await T.event.listen("pb://import-progress", (e) => onImportProgress(e.payload));
    await T.event.listen("pb://queue", (e) => { renderSync(e.payload); if (state.screen === "queue") refreshQueue(); });
    // Live weight on a channel (high rate, not an event).
    const ch = new T.core.Channel();
    ch.onmessage = (w) => { state.weight = w; renderWeightBand(); };
    await call("watch_weight", { channel: ch });
    document.body.dataset.ready = "1";
    await call("ui_ready");
    // After interactive: the audio output starts now rather than at the first scan.
    window.PB_SOUND.warm();
  }

  window.addEventListener("DOMContentLoaded", () => { start().catch((e) => showError(e)); });
})();
