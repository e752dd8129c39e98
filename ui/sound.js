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

  const PATTERNS = {
    ok: [[1760, 0, 0.09, "sine", 0.25]],
    notice: [[880, 0, 0.08, "sine", 0.18], [880, 0.14, 0.08, "sine", 0.18]],
    warn: [[660, 0, 0.12, "square", 0.12], [880, 0.16, 0.12, "square", 0.12], [1100, 0.32, 0.12, "square", 0.12]],
    stop: [[440, 0, 0.28, "sawtooth", 0.2], [880, 0.3, 0.28, "sawtooth", 0.2], [440, 0.6, 0.28, "sawtooth", 0.2], [880, 0.9, 0.28, "sawtooth", 0.2]],
  };
  const STOP_REPEAT_MS = 1500;

  // Each pattern is synthesised once into an AudioBuffer (10 ms attack, 20 ms release, the
  // same envelope the oscillators had) and played by one source node that is disconnected when
  // it ends: a whole shift of scans leaves no audio nodes behind in the web process.
  const buffers = {};
  function wave(type, phase) {
    const x = phase - Math.floor(phase);
    if (type === "square") return x < 0.5 ? 1 : -1;
    if (type === "sawtooth") return 2 * x - 1;
    return Math.sin(2 * Math.PI * x);
  }
  function buffer(ac, cls) {
    if (buffers[cls]) return buffers[cls];
    const pattern = PATTERNS[cls];
    const rate = ac.sampleRate;
    const end = Math.max(...pattern.map(([, at, dur]) => at + dur)) + 0.03;
    const buf = ac.createBuffer(1, Math.ceil(end * rate), rate);
    const data = buf.getChannelData(0);
    const attack = 0.01, release = 0.02, floor = 0.0001;
    for (const [freq, at, dur, type, gain] of pattern) {
      const n0 = Math.floor(at * rate), n = Math.floor(dur * rate);
      for (let i = 0; i < n; i++) {
        const t = i / rate;
        let env = gain;
        if (t < attack) env = floor * Math.pow(gain / floor, t / attack);
        else if (t > dur - release) env = gain * Math.pow(floor / gain, (t - (dur - release)) / release);
        data[n0 + i] += env * wave(type, freq * t);
      }
    }
    buffers[cls] = buf;
    return buf;
  }

  function play(cls) {
    const ac = context();
    if (!ac || !PATTERNS[cls]) return;
    const src = ac.createBufferSource();
    src.buffer = buffer(ac, cls);
    src.connect(ac.destination);
    src.onended = () => src.disconnect();
    src.start();
  }

  return {
    // Opens the audio output and synthesises every pattern up front, so the first scan of the
    // shift beeps without waiting for the audio stack to start (called once the UI is up).
    warm() {
      const ac = context();
      if (!ac) return;
      for (const cls of Object.keys(PATTERNS)) buffer(ac, cls);
    },
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
