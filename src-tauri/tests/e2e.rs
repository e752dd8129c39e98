//! End-to-end test of the real app window: Xvfb (started here when `DISPLAY` is unset),
//! tauri-driver and WebKitWebDriver, driven with fantoccini. One test function, because
//! tauri-driver listens on fixed ports; screenshots go to `target/e2e-screenshots/`.
//!
//! The pack: sign in, open demo order DEMO0001 by its waybill through keyboard-wedge input,
//! scan its items on the demo panel, scan a wrong item (alarm on screen, acknowledged), put a
//! heavy parcel on the simulated scale (weight captured from the scale's MT-SICS bytes, out of
//! tolerance: stop alarm), supervisor override with the PIN pad and a reason, then check the
//! recorded result is queued for upload, with the quote and the label preview on screen.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

/// The demo order used: waybill, items (2 × tea, 1 × cup), expected 910 g.
const WAYBILL: &str = "SF1000000007907";
const ORDER_NO: &str = "DEMO0001";
const TEA: &str = "6901230010002";
const CUP: &str = "6901230011375";
/// The demo supervisor's PIN (station/demo/station.toml).
const SUPERVISOR_PIN: &str = "1234";
/// Longer than the station's double-read window (100 ms) between two scans of one code.
const DEBOUNCE_GAP: Duration = Duration::from_millis(250);

async fn view_field(env: &support::Env, css: &str) -> String {
    env.text(css).await.trim().to_string()
}

#[tokio::test(flavor = "current_thread")]
async fn full_pack_in_the_real_window() {
    let data = std::env::temp_dir().join(format!("packbench-e2e-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let mut env = support::Env::start(env!("CARGO_BIN_EXE_packbench-app"), data.clone()).await;
    let title = env.client.title().await.unwrap();
    assert!(title.contains("PackBench"), "window title: {title}");
    eprintln!("e2e: title {title}");

    // Sign-in screen: operators come from the station configuration.
    env.wait_js(
        "the UI to start",
        "return document.body.dataset.ready === '1'",
        "return document.getElementById('toast').textContent",
    )
    .await;
    env.click("[data-operator='p1']").await;
    env.click("[data-role-choice='packer']").await;
    env.shot("signin").await;
    env.click("#btn-signin").await;
    env.wait_js(
        "the pack screen",
        "return document.getElementById('screen-pack').classList.contains('active')",
        "return document.getElementById('signin-error').textContent",
    )
    .await;

    // Open the order with keyboard-wedge input (WebDriver types at scanner speed) while no text
    // field has focus: the station's wedge decoder turns the burst into a scan.
    let body = env.find("body").await;
    body.send_keys(&format!("{WAYBILL}\n")).await.unwrap();
    env.wait_js(
        "the order to open from the wedge scan",
        &format!("return document.getElementById('order-no').textContent === '{ORDER_NO}'"),
        "return document.getElementById('verdict').textContent",
    )
    .await;
    assert_eq!(
        env.js("return document.getElementById('verdict').className")
            .await,
        "ok"
    );
    assert_eq!(
        env.js("return document.querySelectorAll('#lines-body tr').length")
            .await,
        2
    );
    env.shot("order-opened").await;

    // Items from the demo panel (the simulated scanner).
    env.click(&format!("#demo-codes [data-code='{TEA}']")).await;
    env.wait_js(
        "tea 1/2",
        "return document.querySelector(\"#lines-body tr[data-sku='TEA-LJ-250'] .count\").textContent === '1/2'",
        "return document.getElementById('verdict').textContent",
    )
    .await;
    tokio::time::sleep(DEBOUNCE_GAP).await;
    env.click(&format!("#demo-codes [data-code='{TEA}']")).await;
    env.wait_js(
        "tea 2/2",
        "return document.querySelector(\"#lines-body tr[data-sku='TEA-LJ-250'] .count\").textContent === '2/2'",
        "return document.getElementById('verdict').textContent",
    )
    .await;

    // A wrong item: the verdict and the full-screen alarm say so; nothing is counted.
    env.click("#demo-codes button:nth-last-child(2)").await;
    env.wait_js(
        "the wrong-item alarm",
        "return !document.getElementById('alarm').hidden",
        "return document.getElementById('verdict').textContent",
    )
    .await;
    let alarm_class = env
        .js("return document.getElementById('alarm').className")
        .await;
    let verdict = view_field(&env, "#verdict-text").await;
    assert_eq!(verdict, "错货：不属于本订单", "verdict banner");
    assert!(
        alarm_class == "warn" || alarm_class == "stop",
        "alarm class {alarm_class}"
    );
    env.shot("wrong-item-alarm").await;
    env.click("#alarm-ack").await;
    env.wait_js(
        "the alarm to clear",
        "return document.getElementById('alarm').hidden",
        "return document.getElementById('alarm').className",
    )
    .await;
    assert_eq!(
        env.js("return document.querySelector(\"#lines-body tr[data-sku='TEA-LJ-250'] .count\").textContent").await,
        "2/2"
    );

    // Last item: the order is complete and waits for the scale.
    env.click(&format!("#demo-codes [data-code='{CUP}']")).await;
    env.wait_js(
        "awaiting weight",
        "return document.getElementById('pack-state').textContent === '请称重'",
        "return document.getElementById('pack-state').textContent",
    )
    .await;
    assert_eq!(view_field(&env, "#weight-expected").await, "910 g");

    // A heavy parcel on the simulated scale: it settles, the capture takes the stable weight,
    // the station finds it out of tolerance: stop alarm.
    env.click("#demo-heavy").await;
    env.wait_js(
        "the weight stop alarm",
        "return !document.getElementById('alarm').hidden && document.getElementById('alarm').className === 'stop'",
        "return [document.getElementById('weight-live').textContent, document.getElementById('verdict').textContent]",
    )
    .await;
    assert_eq!(view_field(&env, "#alarm-title").await, "重量超差");
    env.shot("weight-stop-alarm").await;

    // Supervisor override from the alarm: reason list and PIN pad (no keyboard).
    env.click("#alarm-override").await;
    env.click("#modal-reasons [data-reason='packaging_heavier']")
        .await;
    for d in SUPERVISOR_PIN.chars() {
        env.click(&format!("#modal .pinpad [data-key='{d}']")).await;
    }
    env.shot("override-pinpad").await;
    env.click("#modal-ok").await;
    env.wait_js(
        "the pack to be recorded",
        "return document.getElementById('verdict-text').textContent === '打包完成，已保存'",
        "return [document.getElementById('verdict').textContent, document.getElementById('modal-error').textContent]",
    )
    .await;
    assert!(
        env.js("return document.getElementById('alarm').hidden")
            .await
            .as_bool()
            .unwrap(),
        "alarm still on screen after the override"
    );

    // Result committed and queued; quote and label on screen.
    let result = view_field(&env, "#result-status").await;
    assert!(
        result.starts_with("结果已保存，等待上传"),
        "result: {result}"
    );
    let sync = view_field(&env, "#chip-sync-text").await;
    assert!(sync.ends_with(" · 1"), "sync chip: {sync}");
    env.wait_js(
        "the quote",
        "return document.getElementById('quote-total').textContent.startsWith('¥')",
        "return [document.getElementById('quote-total').textContent, document.getElementById('quote-explain').textContent]",
    )
    .await;
    env.wait_js(
        "the label preview",
        "const i = document.getElementById('label-preview'); return !i.hidden && i.complete && i.naturalWidth > 100",
        "return document.getElementById('label-status').textContent",
    )
    .await;
    env.shot("recorded").await;

    // The other screens render from the same station.
    env.click("#nav [data-screen='queue']").await;
    env.wait_js(
        "the queue screen",
        "return document.getElementById('q-pending').textContent === '1'",
        "return document.getElementById('q-pending').textContent",
    )
    .await;
    env.shot("queue").await;
    env.click("#nav [data-screen='exceptions']").await;
    env.wait_js(
        "the exceptions history",
        "return document.querySelectorAll('#exc-history tr').length >= 3",
        "return document.getElementById('exc-history').textContent",
    )
    .await;
    env.shot("exceptions").await;
    env.click("#nav [data-screen='report']").await;
    env.wait_js(
        "the shift report",
        "return document.getElementById('rep-parcels').textContent === '1' && document.querySelectorAll('#rep-chart rect').length === 1",
        "return document.getElementById('rep-parcels').textContent",
    )
    .await;
    env.shot("report").await;
    env.click("#nav [data-screen='devices']").await;
    env.wait_js(
        "the device cards",
        "return document.querySelectorAll('#device-cards .device-card').length >= 3",
        "return document.getElementById('device-cards').textContent",
    )
    .await;
    env.shot("devices").await;

    // Diagnostics: a test print on the (demo) printer goes through the real print queue.
    env.js("const s = document.getElementById('diag-device'); s.value = 'printer-pdf'; s.dispatchEvent(new Event('change')); return s.value")
        .await;
    env.click("#diag-testprint").await;
    env.wait_js(
        "the test print result",
        "const t = document.getElementById('diag-result').textContent; return t.length > 0 && t !== '诊断中…'",
        "return document.getElementById('diag-result').textContent",
    )
    .await;
    let diag = view_field(&env, "#diag-result").await;
    assert!(
        diag.starts_with("test label printed on dir:"),
        "test print result: {diag}"
    );
    env.shot("devices-test-print").await;

    // Settings as the admin: editable, a change is counted and saved to the station file.
    env.click("#btn-signout").await;
    env.click("[data-operator='adm1']").await;
    env.click("[data-role-choice='admin']").await;
    for _ in 0..4 {
        env.click(".pinpad[data-pin-target='signin'] [data-key='9']")
            .await;
    }
    env.click("#btn-signin").await;
    env.click("#nav [data-screen='settings']").await;
    env.wait_js(
        "the settings form",
        "return document.getElementById('set-tol-abs').value !== '' && !document.getElementById('set-tol-abs').disabled",
        "return document.getElementById('set-save-status').textContent",
    )
    .await;
    env.click("[data-step='set-tol-abs'][data-delta='5']").await;
    env.click("#set-save").await;
    env.wait_js(
        "the settings saved",
        "return document.getElementById('set-save-status').textContent.includes('1')",
        "return [document.getElementById('set-save-status').textContent, document.getElementById('set-save-error').textContent]",
    )
    .await;
    env.shot("settings-admin-saved").await;

    // English, and the small 1024×768 screen.
    env.click("#btn-lang").await;
    env.click("#nav [data-screen='pack']").await;
    env.wait_js(
        "English",
        "return document.getElementById('pack-state').textContent !== '' && document.getElementById('btn-lang').textContent === '中文'",
        "return document.getElementById('verdict-text').textContent",
    )
    .await;
    let _ = env.client.set_window_size(1024, 768).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let overflow = env
        .js("return document.documentElement.scrollWidth <= window.innerWidth + 1")
        .await;
    env.shot("english-1024x768").await;
    assert_eq!(overflow, true, "horizontal overflow at 1024x768");

    env.client.clone().close().await.unwrap();
    let _ = std::fs::remove_dir_all(&data);
}
