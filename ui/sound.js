// Alarm sounds generated with WebAudio: one distinct pattern per alarm class.
// ok: one short high chirp; notice: two soft mid beeps; warn: three rising beeps;
// stop: a low/high two-tone siren that the UI repeats until the alarm is acknowledged.
"use strict";

window.PB_SOUND = (function () {
  let ctx = null;
  let repeatTimer = null;

  function context() {
    if (!ctx) {
      const Ctor = window.AudioContext || window.webkitAudioContext;
      if (!Ctor) return null;
      ctx = new Ctor();
    }
    if (ctx.state === "suspended") ctx.resume().catch(() => {});
    return ctx;
  }

  // One tone: frequency in Hz, start offset and duration in seconds, waveform, peak gain.
  function tone(ac, freq, at, dur, type, gain) {
    const osc = ac.createOscillator();
    const g = ac.createGain();
    osc.type = type;
    osc.frequency.setValueAtTime(freq, ac.currentTime + at);
    const t0 = ac.currentTime + at;
    g.gain.setValueAtTime(0.0001, t0);
    g.gain.exponentialRampToValueAtTime(gain, t0 + 0.01);
    g.gain.setValueAtTime(gain, t0 + dur - 0.02);
    g.gain.exponentialRampToValueAtTime(0.0001, t0 + dur);
    osc.connect(g).connect(ac.destination);
    osc.start(t0);
    osc.stop(t0 + dur + 0.02);
  }

  const PATTERNS = {
    ok: [[1760, 0, 0.09, "sine", 0.25]],
    notice: [[880, 0, 0.08, "sine", 0.18], [880, 0.14, 0.08, "sine", 0.18]],
    warn: [[660, 0, 0.12, "square", 0.12], [880, 0.16, 0.12, "square", 0.12], [1100, 0.32, 0.12, "square", 0.12]],
    stop: [[440, 0, 0.28, "sawtooth", 0.2], [880, 0.3, 0.28, "sawtooth", 0.2], [440, 0.6, 0.28, "sawtooth", 0.2], [880, 0.9, 0.28, "sawtooth", 0.2]],
  };
  const STOP_REPEAT_MS = 1500;

  function play(cls) {
    const ac = context();
    const pattern = PATTERNS[cls];
    if (!ac || !pattern) return;
    for (const [f, at, dur, type, gain] of pattern) tone(ac, f, at, dur, type, gain);
  }

  return {
    // Plays the class's pattern once; for stop-class, keeps repeating until stop() is called.
    alarm(cls) {
      this.stop();
      play(cls);
      if (cls === "stop") repeatTimer = setInterval(() => play("stop"), STOP_REPEAT_MS);
    },
    stop() {
      if (repeatTimer) clearInterval(repeatTimer);
      repeatTimer = null;
    },
    repeating() { return repeatTimer !== null; },
  };
})();
