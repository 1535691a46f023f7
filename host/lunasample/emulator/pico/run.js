// An emulated Raspberry Pi Pico: rp2040js (Cortex-M0+ at 125 MHz with the
// instruction timings of the M0+, PIO, timer, USB) running a MicroPython
// UF2, its USB CDC serial bridged to a TCP port, so that pyserial and
// mpremote reach it as socket://127.0.0.1:PORT. Started by
// lunasample.emulator.rp2040js (tests/pico, `lunasample emulate --engine
// rp2040js`, benchmarks/rp2040_emulated.py).
//
//   node run.js --uf2 RPI_PICO.uf2 --bootrom bootrom.ts [--port 5555]
//               [--drill PWM,DIR,ENC_A,ENC_B] [--hx711 SCK,DOUT]
//               [--inputs GPIO=V,...] [--trace GPIO,...] [--steppers STEP:DIR,...]
//               [--homes STEP:DIR:HOME:START:TRIP:STOP,...]
//
// --bootrom: the RP2040 B1 bootrom, as rp2040js's demo/bootrom.ts or as a
// 16 KB binary. --drill and --hx711 are plants on the board's pins (below);
// --inputs holds input pins at a level (a closed NC switch to GND reads 0).
// --homes: a step axis with an NC home switch (boards/*.json "homing"):
// it starts at START (steps), moves one step on each rising STEP edge, up
// while DIR is high, down while it is low, and no further than its hard
// stop STOP (those pulses are lost); its switch input HOME reads 1 (open)
// at TRIP and beyond (toward STOP), else 0.
// --trace and --steppers watch output pins on the board's clock, read
// through the control lines on stdin (below).
'use strict';
const fs = require('fs');
const net = require('net');
const { ConsoleLogger, FIFO, LogLevel, Simulator, StateMachine, USBCDC } = require('rp2040js');

function arg(name, dflt) {
  const i = process.argv.indexOf('--' + name);
  return i > 0 ? process.argv[i + 1] : dflt;
}

function fail(msg) {
  console.error('run.js: ' + msg);
  process.exit(2);
}

function loadBootrom(path) {
  if (!path || !fs.existsSync(path)) fail(`bootrom not found: ${path}`);
  const raw = fs.readFileSync(path);
  let words;
  if (path.endsWith('.ts') || path.endsWith('.js')) {
    const text = raw.toString();
    words = Uint32Array.from(
      (text.slice(text.indexOf('[')).match(/0x[0-9a-fA-F]+/g) || []).map((w) => parseInt(w, 16)),
    );
  } else {
    words = new Uint32Array(raw.buffer, raw.byteOffset, raw.length >> 2);
  }
  if (words.length !== 4096) fail(`${path}: a bootrom is 16 KB, this is ${words.length * 4} bytes`);
  return words;
}

function loadUF2(path, mcu) {
  if (!path || !fs.existsSync(path)) fail(`UF2 not found: ${path}`);
  const raw = fs.readFileSync(path);
  for (let off = 0; off + 512 <= raw.length; off += 512) {
    const b = raw.subarray(off, off + 512);
    if (b.readUInt32LE(0) !== 0x0a324655 || b.readUInt32LE(4) !== 0x9e5d5157) {
      fail(`${path}: block ${off / 512} is not a UF2 block`);
    }
    mcu.flash.set(b.subarray(32, 32 + b.readUInt32LE(16)), b.readUInt32LE(12) - 0x10000000);
  }
}

// An entry of the bootrom's function table (RP2040 datasheet 2.8.3).
function romFunc(rom, code) {
  const bytes = new Uint8Array(rom.buffer, rom.byteOffset, rom.byteLength);
  const half = (a) => bytes[a] | (bytes[a + 1] << 8);
  const want = code.charCodeAt(0) | (code.charCodeAt(1) << 8);
  for (let a = half(0x14); half(a) !== 0; a += 4) {
    if (half(a) === want) return half(a + 2) & ~1;
  }
  return fail('bootrom has no function ' + code);
}

// rp2040js keeps every state machine's FIFOs 4 deep: joined (SHIFTCTRL
// FJOIN_TX, bit 30, or FJOIN_RX, bit 31) one of them is 8 deep on a board
// (RP2040 datasheet 3.2.4), which the step generator's batches count on.
const smWrite = StateMachine.prototype.writeUint32;
StateMachine.prototype.writeUint32 = function (offset, value) {
  smWrite.call(this, offset, value);
  if (offset === 0x08) {
    const tx = value & (1 << 30) ? 8 : 4;
    const rx = value & (1 << 31) ? 8 : 4;
    if (this.txFIFO.size !== tx) this.txFIFO = new FIFO(tx);
    if (this.rxFIFO.size !== rx) this.rxFIFO = new FIFO(rx);
  }
};

const sim = new Simulator();
const mcu = sim.rp2040;
mcu.logger = new ConsoleLogger(LogLevel.Error);
const rom = loadBootrom(arg('bootrom'));
mcu.loadBootrom(rom);
loadUF2(arg('uf2'), mcu);

// rp2040js runs flash reads but not the bootrom's programming sequence (SSI
// commands): its erase and program entries are carried out here, on the
// emulated flash, so the board's filesystem keeps what is written to it.
const eraseAt = romFunc(rom, 'RE');
const programAt = romFunc(rom, 'RP');
const core = mcu.core;
const execute = core.executeInstruction.bind(core);
core.executeInstruction = function () {
  const pc = core.PC;
  if (pc === eraseAt || pc === programAt) {
    const r = core.registers;
    const at = r[0] >>> 0;
    if (pc === eraseAt) {
      mcu.flash.fill(0xff, at, at + (r[1] >>> 0));
    } else {
      for (let i = 0; i < r[2] >>> 0; i++) mcu.flash[at + i] = mcu.readUint8((r[1] >>> 0) + i);
    }
    core.PC = core.LR & ~1;
    return 2;
  }
  return execute();
};

// The drill: a DC motor on PWM + direction (24 V at full duty, 1 V s/rad at
// the bit, a first-order lag of 60 ms: the emulator's plant without its
// load), its shaft encoder as quadrature (forward 0 -> 1 -> 3 -> 2, state =
// B << 1 | A, 4096 edges a turn).
const drill = arg('drill', '');
if (drill) {
  const [pwmPin, dirPin, pa, pb] = drill.split(',').map(Number);
  const ch = mcu.pwm.channels[(pwmPin >> 1) & 7];
  const seq = [0, 1, 3, 2];
  let k = 0;
  let omega = 0; // rad/s, signed
  const STEP_NS = 1e6;
  const motor = sim.clock.createAlarm(() => {
    const cc = pwmPin & 1 ? ch.cc >>> 16 : ch.cc & 0xffff;
    const duty = ch.csr & 1 ? Math.min(1, cc / (ch.top + 1)) : 0;
    const volts = 24 * duty * (mcu.gpio[dirPin].outputValue ? 1 : -1);
    omega += (volts - omega) * (1 - Math.exp(-STEP_NS / 60e6));
    motor.schedule(STEP_NS);
  });
  motor.schedule(STEP_NS);
  // One edge at a time: the PIO counter samples the pins, and two edges
  // at once would read as a missed one.
  const edge = sim.clock.createAlarm(() => {
    const perNs = ((Math.abs(omega) / (2 * Math.PI)) * 4096) / 1e9;
    if (perNs * STEP_NS < 1e-3) {
      edge.schedule(STEP_NS); // at rest
      return;
    }
    k = (k + (omega < 0 ? 3 : 1)) & 3;
    mcu.gpio[pa].setInputValue((seq[k] & 1) !== 0);
    mcu.gpio[pb].setInputValue((seq[k] & 2) !== 0);
    edge.schedule(1 / perNs);
  });
  edge.schedule(STEP_NS);
}

// A load cell's HX711 at 80 SPS: DOUT low when a conversion is ready, then
// a bit on each SCK rising edge (24, MSB first), high again from the 25th
// pulse. The reading is a fixed count with a few counts of noise (a reading
// repeated 50 times in a row is a stuck-ADC fault to the firmware).
const hx = arg('hx711', '');
if (hx) {
  const [sck, dout] = hx.split(',').map(Number);
  let value = 0;
  let pulses = -1; // -1: no conversion ready
  let seed = 12345;
  mcu.gpio[dout].setInputValue(true);
  const ready = sim.clock.createAlarm(() => {
    if (pulses < 0) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      value = 0x200000 + (seed >> 24);
      pulses = 0;
      mcu.gpio[dout].setInputValue(false);
    }
    ready.schedule(12.5e6);
  });
  ready.schedule(12.5e6);
  let high = false;
  mcu.gpio[sck].addListener((state) => {
    const now = state === 1; // GPIOPinState.High
    if (now && !high && pulses >= 0) {
      if (pulses < 24) {
        mcu.gpio[dout].setInputValue(((value >> (23 - pulses)) & 1) !== 0);
        pulses++;
      } else {
        mcu.gpio[dout].setInputValue(true); // the gain pulses: not ready
        pulses = -1;
      }
    }
    high = now;
  });
}

// Input pins held at a level from power-on.
for (const kv of arg('inputs', '').split(',').filter((x) => x)) {
  const [g, v] = kv.split('=').map(Number);
  mcu.gpio[g].setInputValue(v !== 0);
}

// Output pins watched on the board's clock: edges counted, the shortest
// high and low times, the last edge; for each STEP pin the shortest time
// from its DIR pin's last change to a rising STEP edge (DIR setup) and from
// a falling STEP edge to the next DIR change (DIR hold).
const traced = {};
function watch(g) {
  if (traced[g]) return traced[g];
  const t = { rise: 0, fall: 0, minHigh: null, minLow: null, last: null, value: 0, onEdge: [] };
  t.value = mcu.gpio[g].outputValue ? 1 : 0;
  traced[g] = t;
  mcu.gpio[g].addListener((state) => {
    const v = state === 1 ? 1 : 0; // GPIOPinState.High
    if (v === t.value) return;
    const now = sim.clock.nanos;
    if (t.last !== null) {
      const w = now - t.last;
      if (t.value === 1 && (t.minHigh === null || w < t.minHigh)) {
        t.minHigh = w;
        t.minHighAt = t.last;
      } else if (t.value === 0) {
        t.minLow = t.minLow === null ? w : Math.min(t.minLow, w);
      }
    }
    if (v) t.rise++;
    else t.fall++;
    t.value = v;
    t.last = now;
    for (const f of t.onEdge) f(v, now);
  });
  return t;
}
for (const g of arg('trace', '').split(',').filter((x) => x)) watch(Number(g));
for (const pair of arg('steppers', '').split(',').filter((x) => x)) {
  const [sg, dg] = pair.split(':').map(Number);
  const st = watch(sg);
  const dt = watch(dg);
  st.minSetup = null;
  st.minHold = null;
  let lastFall = null;
  st.onEdge.push(
    (v, now) => {
      if (v && dt.last !== null) {
        const w = now - dt.last;
        st.minSetup = st.minSetup === null ? w : Math.min(st.minSetup, w);
      }
      if (!v) lastFall = now;
    },
  );
  dt.onEdge.push((v, now) => {
    if (lastFall !== null) {
      const w = now - lastFall;
      st.minHold = st.minHold === null ? w : Math.min(st.minHold, w);
    }
  });
}

// Step axes with home switches: the position follows the STEP pin's rising
// edges, the DIR pin's level at the edge giving the sign; the NC switch
// opens (reads 1) from its trip point on, because the axis got there.
const homes = {};
for (const spec of arg('homes', '').split(',').filter((x) => x)) {
  const [sg, dg, hg, start, trip, stop] = spec.split(':').map(Number);
  if ([sg, dg, hg, start, trip, stop].some((x) => !Number.isInteger(x))) {
    fail(`--homes ${spec}: STEP:DIR:HOME:START:TRIP:STOP, integers`);
  }
  const up = stop > trip; // the switch and the hard stop are at the upper end
  const h = { pos: start, open: 0, lost: 0 };
  homes[sg] = h;
  const sense = () => {
    h.open = (up ? h.pos >= trip : h.pos <= trip) ? 1 : 0;
    mcu.gpio[hg].setInputValue(h.open === 1);
  };
  sense();
  const st = watch(sg);
  const dt = watch(dg);
  st.onEdge.push((v) => {
    if (!v) return;
    const p = h.pos + (dt.value ? 1 : -1);
    if (up ? p > stop : p < stop) {
      h.lost++; // against the hard stop: the rotor slips
      return;
    }
    h.pos = p;
    sense();
  });
}

// Control lines on stdin, each answered by one line on stdout:
//   set GPIO 0|1  -> "set NS": drive an input pin; NS is the board's clock
//   stats         -> one JSON line: {"ns": NS, "pins": {GPIO: {...}},
//                    "homes": {STEP: {"pos", "open", "lost"}}}
//   clear         -> "clear NS": zero the counters
let ctlBuf = '';
process.stdin.on('data', (d) => {
  ctlBuf += d.toString();
  let i;
  while ((i = ctlBuf.indexOf('\n')) >= 0) {
    const w = ctlBuf.slice(0, i).trim().split(/\s+/);
    ctlBuf = ctlBuf.slice(i + 1);
    const ns = sim.clock.nanos;
    if (w[0] === 'set' && w.length === 3) {
      mcu.gpio[Number(w[1])].setInputValue(w[2] !== '0');
      console.log(`set ${ns}`);
    } else if (w[0] === 'stats') {
      const pins = {};
      for (const [g, t] of Object.entries(traced)) {
        pins[g] = {
          rise: t.rise,
          fall: t.fall,
          min_high_ns: t.minHigh,
          min_high_at_ns: t.minHigh === null ? null : t.minHighAt,
          min_low_ns: t.minLow,
          last_ns: t.last,
          value: t.value,
          min_dir_setup_ns: t.minSetup === undefined ? undefined : t.minSetup,
          min_dir_hold_ns: t.minHold === undefined ? undefined : t.minHold,
        };
      }
      console.log(JSON.stringify({ ns, pins, homes }));
    } else if (w[0] === 'clear') {
      for (const t of Object.values(traced)) {
        Object.assign(t, { rise: 0, fall: 0, minHigh: null, minHighAt: null, minLow: null });
        if (t.minSetup !== undefined) Object.assign(t, { minSetup: null, minHold: null });
      }
      console.log(`clear ${ns}`);
    } else {
      console.log(`? ${w.join(' ')}`);
    }
  }
});
process.stdin.on('end', () => process.exit(0)); // the owner went away

const cdc = new USBCDC(mcu.usbCtrl);
// rp2040js's CDC answers an armed OUT endpoint at once, with nothing when
// the host has nothing to send: the board then re-arms it and takes a USB
// interrupt per round trip, about half its time, which a real host never
// causes (it sends when it has data). The read is held until there is data.
let held = null;
function serveRead() {
  const n = Math.min(held.size, cdc.txFIFO.itemCount);
  if (n === 0) return;
  const buf = new Uint8Array(n);
  for (let i = 0; i < n; i++) buf[i] = cdc.txFIFO.pull();
  const ep = held.endpoint;
  held = null;
  mcu.usbCtrl.endpointReadDone(ep, buf);
}
mcu.usbCtrl.onEndpointRead = (endpoint, size) => {
  if (endpoint !== cdc.outEndpoint) return;
  held = { endpoint, size };
  serveRead();
};

let sock = null;
cdc.onSerialData = (data) => {
  if (sock && sock.writable) sock.write(Buffer.from(data));
};
const server = net.createServer((s) => {
  sock = s;
  s.setNoDelay(true);
  s.on('error', () => {});
  s.on('data', (d) => {
    for (const byte of d) cdc.txFIFO.push(byte);
    if (held) serveRead();
  });
  s.on('close', () => {
    if (sock === s) sock = null;
  });
});
server.on('error', (e) => fail(e.message));
const port = Number(arg('port', '0')); // 0: any free port
server.listen(port, '127.0.0.1', () => console.log(`listening on ${server.address().port}`));

// The emulated time, for the bench's progress (stderr, once a second).
let lastNs = 0;
setInterval(() => {
  const ns = sim.clock.nanos;
  console.error(`emulated ${(ns / 1e9).toFixed(3)} s (+${((ns - lastNs) / 1e6).toFixed(0)} ms)`);
  lastNs = ns;
}, 1000).unref();

// rp2040js runs each PIO block 1000 instructions per turn of Node's event
// loop, whatever the CPU does meanwhile, and without the clock divider: a
// state machine there may run a thousand times slower or faster than on a
// board. Here every state machine advances with the CPU's cycles, through
// its divider (RP2040 datasheet 3.5.5: INT + FRAC / 256, INT 0 = 65536).
// rp2040js also counts an instruction's delay cycles (`[n]`, datasheet
// 3.4.1: the state machine idles n cycles after it) without idling: the
// next instruction ran on the next step, so `out(pins, 8)[3]` held a pin
// one cycle instead of four. Here the machine idles them.
for (const p of mcu.pio) p.run = () => {};
function stepPio(cycles) {
  for (const p of mcu.pio) {
    if (p.stopped) continue;
    let stepped = false;
    for (const m of p.machines) {
      if (!m.enabled) continue;
      const div = (m.clockDivInt || 65536) * 256 + m.clockDivFrac;
      let acc = (m.divAcc || 0) + cycles * 256;
      while (acc >= div) {
        acc -= div;
        // Delay cycles owed by the last instruction (or by a stall the
        // CPU ended through a FIFO) are spent before the next one runs.
        if (m.seen === undefined || m.cycles < m.seen) m.seen = m.cycles; // restart zeroes it
        if (m.cycles > m.seen) {
          m.seen++;
          continue;
        }
        m.step();
        if (m.cycles > m.seen) m.seen++; // this cycle; the rest is delay
        stepped = true;
      }
      m.divAcc = acc;
    }
    if (stepped) p.checkChangedPins();
  }
}
const pioRunning = () => !mcu.pio[0].stopped || !mcu.pio[1].stopped;

const CYCLE_NS = 8; // 125 MHz
function runCpu() {
  const clock = sim.clock;
  for (let i = 0; i < 200000; i++) {
    let cycles;
    if (core.waiting) {
      // Asleep until an interrupt: to the next alarm at once, unless a
      // state machine runs meanwhile.
      const ns = clock.nanosToNextAlarm;
      cycles = pioRunning() ? 8 : Math.max(1, Math.floor(ns / CYCLE_NS));
    } else {
      cycles = core.executeInstruction();
    }
    clock.tick(cycles * CYCLE_NS);
    stepPio(cycles);
  }
  setImmediate(runCpu); // the sockets get their turn
}

core.PC = 0x10000000;
runCpu();
