#!/usr/bin/env node
// Load generator for y-websocket servers: R rooms x C clients, each client dragging its own
// system (systems[<id>].x and .y in one transaction) at F Hz. See bench/README.md.
//
//   node bench/loadgen.mjs --url ws://127.0.0.1:PORT/ws/chains --rooms 10 --clients 5 --hz 5
//   node bench/loadgen.mjs --url ... --idle --rooms 200      # hold idle rooms until stdin closes
//
// stdout: JSON lines only ({"phase": ...} markers, then one {"result": {...}});
// stderr: a human-readable summary.
import { parseArgs } from 'node:util'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { Y, WebsocketProvider, WebSocket, encoding, decoding } from '../tests/node/deps.mjs'

const { values: opt } = parseArgs({
  options: {
    url: { type: 'string' }, // base, e.g. ws://127.0.0.1:P/ws/chains; room = next path segment
    token: { type: 'string', default: '' },
    rooms: { type: 'string', default: '10' },
    'room-ids': { type: 'string' }, // comma-separated; overrides --rooms (mapper: chain ids)
    'room-prefix': { type: 'string', default: `bench-${process.pid}` },
    clients: { type: 'string', default: '5' },
    hz: { type: 'string', default: '5' },
    duration: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '3' },
    'full-per-room': { type: 'string', default: '1' },
    drain: { type: 'string', default: '5' }, // max seconds to wait for in-flight updates
    'connect-timeout': { type: 'string', default: '20' }, // per client
    'connect-concurrency': { type: 'string', default: '50' },
    idle: { type: 'boolean', default: false },
    hold: { type: 'string', default: '600' } // idle mode: max seconds to hold the rooms
  }
})
if (!opt.url) {
  process.stderr.write('usage: loadgen.mjs --url ws://HOST:PORT/ws/chains [options]\n')
  process.exit(2)
}
const num = (name) => {
  const v = Number(opt[name])
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${name} must be a non-negative number`)
  return v
}
const roomIds = opt['room-ids']
  ? opt['room-ids'].split(',').filter(Boolean)
  : Array.from({ length: num('rooms') }, (_, i) => `${opt['room-prefix']}-${i}`)
const clientsPerRoom = opt.idle ? 1 : num('clients')
const fullPerRoom = opt.idle ? 0 : Math.min(num('full-per-room'), clientsPerRoom)
const hz = num('hz')
const duration = num('duration')
const warmup = num('warmup')

const MSG_SYNC = 0
const MSG_AWARENESS = 1
const MSG_AUTH = 2
const SYNC_STEP1 = 0
const SYNC_STEP2 = 1
const SYNC_UPDATE = 2
const AWARENESS_RENEW_MS = 15000 // what y-protocols' Awareness does, so states never time out
// Node's loop-delay histogram records whole sampling intervals; subtract the interval itself.
const LOOP_SAMPLE_MS = 10
const loopLag = (ns) => Math.max(0, ns / 1e6 - LOOP_SAMPLE_MS)

// Each WebsocketProvider adds a process 'exit' listener; dozens of them are expected here.
process.setMaxListeners(0)

const emit = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')
const log = (...args) => process.stderr.write(args.join(' ') + '\n')
const sleep = (s) => new Promise((resolve) => setTimeout(resolve, s * 1000))
const withTimeout = (promise, s, what) => Promise.race([
  promise,
  sleep(s).then(() => { throw new Error(`timeout after ${s}s: ${what}`) })
])

// 'connect' -> 'warmup' -> 'measure' -> 'drain' -> 'closing'. Only ticks sent in 'measure' count.
let phase = 'connect'

const stats = {
  sent: 0, // measured ticks sent
  expected: 0, // measured ticks x peers in their room
  delivered: 0, // first arrivals of measured ticks at a peer (wire and full clients)
  duplicates: 0, // measured ticks arriving again at the same peer
  echoes: 0, // measured ticks the server sent back to their own author
  wireLatency: [], // ms, edit-to-peer, measured at wire clients
  fullLatency: [], // ms, edit-to-peer, measured at full clients (includes applying the update)
  received: { sync: 0, awareness: 0, auth: 0 },
  connectFailures: 0,
  disconnects: 0,
  wsErrors: 0,
  permissionDenied: 0,
  lastErrors: [] // a few messages, for diagnosis
}
const noteError = (msg) => { if (stats.lastErrors.length < 5) stats.lastErrors.push(msg) }

const roomUrl = (room) => `${opt.url}/${room}` + (opt.token ? `?token=${encodeURIComponent(opt.token)}` : '')

const frame = (write) => {
  const encoder = encoding.createEncoder()
  write(encoder)
  return encoding.toUint8Array(encoder)
}
const syncFrame = (type, payload) => frame((e) => {
  encoding.writeVarUint(e, MSG_SYNC)
  encoding.writeVarUint(e, type)
  encoding.writeVarUint8Array(e, payload)
})
// Same bytes as y-protocols' encodeAwarenessUpdate for one client.
const awarenessFrame = (clientID, clock, state) => frame((e) => {
  encoding.writeVarUint(e, MSG_AWARENESS)
  encoding.writeVarUint8Array(e, frame((inner) => {
    encoding.writeVarUint(inner, 1)
    encoding.writeVarUint(inner, clientID)
    encoding.writeVarUint(inner, clock)
    encoding.writeVarString(inner, JSON.stringify(state))
  }))
})

// Every client, by its Yjs clientID, so a receiver can find who sent a struct range.
const senders = new Map()

// A Yjs update arrived at `receiver`: find which ticks it carries. Each tick writes exactly two
// structs (x, y) of its sender, so the tick is identified by (sender clientID, first clock);
// Y.parseUpdateMeta reads the clock ranges without applying anything (~1 us).
const recordContent = (receiver, update, latencies) => {
  const now = performance.now()
  const { from, to } = Y.parseUpdateMeta(update)
  for (const [client, start] of from) {
    const sender = senders.get(client)
    if (sender === undefined) continue // content written before this run
    if (sender === receiver) {
      if (sender.ticks.get(start)?.measured) stats.echoes++
      continue
    }
    const end = to.get(client)
    const seenUpTo = receiver.seen.get(client) ?? 0
    for (let clock = start; clock < end; clock++) {
      const tick = sender.ticks.get(clock)
      if (tick === undefined || !tick.measured) continue
      if (clock < seenUpTo) {
        stats.duplicates++
      } else {
        stats.delivered++
        latencies.push(now - tick.t)
      }
    }
    if (end > seenUpTo) receiver.seen.set(client, end)
  }
}

// What both client kinds share: a local doc with only this client's own system, the drag.
class Client {
  constructor (room, systemId) {
    this.room = room
    this.systemId = systemId
    this.doc = new Y.Doc()
    this.ticks = new Map() // first clock of a tick -> { t, measured }
    this.seen = new Map() // sender clientID -> clock up to which its structs arrived here
    this.seq = 0
    this.timers = []
    if (senders.has(this.doc.clientID)) throw new Error('Yjs clientID collision; rerun')
    senders.set(this.doc.clientID, this)
    this.doc.transact(() => {
      this.system = new Y.Map()
      this.doc.getMap('systems').set(systemId, this.system)
      this.system.set('name', `J${systemId}`)
      this.system.set('x', 0)
      this.system.set('y', 0)
      const notes = new Y.Text()
      this.system.set('notes', notes)
      notes.insert(0, 'static C5, frig hole to HS, scanned 12 sigs, 3 relic sites, 1 gas')
    })
  }

  get finalPosition () {
    return { x: this.seq, y: 2 * this.seq }
  }

  tick () {
    if (!this.isOpen()) return
    const measured = phase === 'measure'
    // The transaction's first struct gets the doc's current clock for this client.
    this.ticks.set(Y.getState(this.doc.store, this.doc.clientID), { t: performance.now(), measured })
    this.seq++
    const { x, y } = this.finalPosition
    this.doc.transact(() => {
      this.system.set('x', x)
      this.system.set('y', y)
    })
    if (measured) {
      stats.sent++
      stats.expected += this.room.clients.length - 1
    }
  }

  startDragging () {
    const period = 1000 / hz
    // Random phase so that clients do not all fire in the same millisecond.
    this.timers.push(setTimeout(() => {
      this.tick()
      this.timers.push(setInterval(() => this.tick(), period))
    }, Math.random() * period))
  }

  stopDragging () {
    this.timers.forEach(clearTimeout) // clearTimeout also clears intervals
    this.timers = []
  }
}

// Speaks the protocol by hand and never applies the room's content: it only sends its own
// updates and parses incoming frames far enough to timestamp the ticks they carry.
class WireClient extends Client {
  constructor (room, systemId) {
    super(room, systemId)
    this.ws = null
    this.synced = false
    this.awarenessClock = 0
    // Updates made before the socket is open reach the server through sync step 2 instead.
    this.doc.on('update', (update) => this.send(syncFrame(SYNC_UPDATE, update)))
  }

  isOpen () {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN
  }

  send (bytes) {
    if (this.isOpen()) this.ws.send(bytes)
  }

  sendAwareness () {
    this.awarenessClock++
    this.send(awarenessFrame(this.doc.clientID, this.awarenessClock, {
      user: { name: `pilot-${this.systemId}` }, cursor: null
    }))
  }

  connect () {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(roomUrl(this.room.id))
      this.ws = ws
      this.onSynced = resolve
      ws.on('open', () => {
        this.send(syncFrame(SYNC_STEP1, Y.encodeStateVector(this.doc)))
        this.sendAwareness()
        this.timers.push(setInterval(() => this.sendAwareness(), AWARENESS_RENEW_MS))
      })
      ws.on('message', (data) => this.onMessage(data))
      ws.on('error', (err) => {
        if (phase === 'connect') return reject(err) // counted as a connect failure
        stats.wsErrors++
        noteError(`ws error: ${err.message}`)
      })
      ws.on('close', (code, reason) => {
        if (!this.synced) return reject(new Error(`closed before sync: ${code} ${reason}`))
        if (phase !== 'closing') {
          stats.disconnects++
          noteError(`disconnected: ${code} ${reason}`)
        }
      })
    })
  }

  onMessage (data) {
    const decoder = decoding.createDecoder(data)
    switch (decoding.readVarUint(decoder)) {
      case MSG_SYNC: {
        stats.received.sync++
        const type = decoding.readVarUint(decoder)
        const payload = decoding.readVarUint8Array(decoder)
        if (type === SYNC_STEP1) {
          // The server asks for what it lacks: that can only be this client's own system.
          this.send(syncFrame(SYNC_STEP2, Y.encodeStateAsUpdate(this.doc, payload)))
          return
        }
        recordContent(this, payload, stats.wireLatency)
        if (type === SYNC_STEP2 && !this.synced) {
          this.synced = true
          this.onSynced()
        }
        return
      }
      case MSG_AWARENESS:
        stats.received.awareness++
        return
      case MSG_AUTH:
        stats.received.auth++
        stats.permissionDenied++
        noteError('permission denied')
    }
  }

  close () {
    this.stopDragging()
    this.ws?.close()
  }
}

// A real y-websocket client that applies everything, to prove the room's content is intact.
class FullClient extends Client {
  constructor (room, systemId) {
    super(room, systemId)
    this.provider = null
    // Remote updates are applied with the provider as transaction origin.
    this.doc.on('update', (update, origin) => {
      if (origin === this.provider) recordContent(this, update, stats.fullLatency)
    })
  }

  isOpen () {
    return this.provider !== null && this.provider.wsconnected
  }

  connect () {
    return new Promise((resolve) => {
      const provider = new WebsocketProvider(opt.url, this.room.id, this.doc, {
        params: opt.token ? { token: opt.token } : {},
        WebSocketPolyfill: WebSocket,
        disableBc: true // peers must hear each other through the server only
      })
      this.provider = provider
      provider.messageHandlers[MSG_AUTH] = () => {
        stats.received.auth++
        stats.permissionDenied++
        noteError('permission denied (full client)')
      }
      provider.on('connection-close', (event) => {
        if (provider.synced && phase !== 'closing') {
          stats.disconnects++
          noteError(`full client disconnected: ${event?.code} ${event?.reason}`)
        }
      })
      provider.on('connection-error', () => { if (phase !== 'connect') stats.wsErrors++ })
      provider.on('sync', (synced) => { if (synced) resolve() })
      provider.awareness.setLocalState({ user: { name: `pilot-${this.systemId}` }, cursor: null })
    })
  }

  // Its doc holds every peer's final position iff no update was lost.
  checkFinalState () {
    const systems = this.doc.getMap('systems')
    return this.room.clients.filter((peer) => {
      const sys = systems.get(peer.systemId)
      const want = peer.finalPosition
      return !(sys instanceof Y.Map && sys.get('x') === want.x && sys.get('y') === want.y)
    }).length
  }

  close () {
    this.stopDragging()
    this.provider?.destroy()
  }
}

const rooms = roomIds.map((id) => ({ id, clients: [] }))
let nextSystem = 31000000
for (const room of rooms) {
  for (let i = 0; i < clientsPerRoom; i++) {
    const Kind = i < fullPerRoom ? FullClient : WireClient
    room.clients.push(new Kind(room, String(nextSystem++)))
  }
}
const clients = rooms.flatMap((room) => room.clients)
const fullClients = clients.filter((c) => c instanceof FullClient)

// Bounded concurrency: a burst of hundreds of handshakes is not what we measure.
const connectAll = async () => {
  const queue = clients.slice()
  const worker = async () => {
    while (queue.length > 0) {
      const client = queue.shift()
      try {
        await withTimeout(client.connect(), num('connect-timeout'), `connect to ${client.room.id}`)
      } catch (err) {
        stats.connectFailures++
        noteError(`connect failed: ${err.message}`)
      }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, num('connect-concurrency')) }, worker))
}

const percentiles = (values) => {
  if (values.length === 0) return { n: 0, p50: null, p90: null, p99: null, max: null }
  const sorted = Float64Array.from(values).sort()
  const at = (q) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] * 100) / 100
  return { n: sorted.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: at(1) }
}

const shutdown = async (code) => {
  phase = 'closing'
  clients.forEach((c) => c.close())
  await sleep(0.3) // let close frames go out; the process exits regardless
  process.exit(code)
}

const runIdle = async () => {
  await connectAll()
  emit({ phase: 'ready', rooms: rooms.length, connect_failures: stats.connectFailures })
  log(`idle: ${rooms.length} rooms held, ${stats.connectFailures} connect failures`)
  // Hold until the caller closes our stdin, bounded by --hold.
  await Promise.race([
    new Promise((resolve) => { process.stdin.on('end', resolve).on('close', resolve).resume() }),
    sleep(num('hold'))
  ])
  await shutdown(0)
}

const runLoad = async () => {
  const connectStart = performance.now()
  await connectAll()
  emit({ phase: 'connected', seconds: (performance.now() - connectStart) / 1000 })

  phase = 'warmup'
  clients.forEach((c) => c.startDragging())
  await sleep(warmup)

  phase = 'measure'
  const loopDelay = monitorEventLoopDelay({ resolution: LOOP_SAMPLE_MS })
  loopDelay.enable()
  const cpuStart = process.cpuUsage()
  emit({ phase: 'measure-start' })
  await sleep(duration)
  emit({ phase: 'measure-end' })
  phase = 'drain'
  clients.forEach((c) => c.stopDragging())
  const cpu = process.cpuUsage(cpuStart)
  loopDelay.disable()

  // Wait for in-flight updates, bounded: stop early once nothing is missing.
  const finalMismatches = () => fullClients.reduce((n, c) => n + c.checkFinalState(), 0)
  const drainEnd = performance.now() + num('drain') * 1000
  while (performance.now() < drainEnd && (stats.delivered < stats.expected || finalMismatches() > 0)) {
    await sleep(0.05)
  }

  const cpuSeconds = (cpu.user + cpu.system) / 1e6
  const result = {
    workload: `${rooms.length}x${clientsPerRoom}@${hz}`,
    rooms: rooms.length,
    clients_per_room: clientsPerRoom,
    full_clients_per_room: fullPerRoom,
    hz,
    duration_s: duration,
    sent: stats.sent,
    sent_per_s: stats.sent / duration,
    expected: stats.expected,
    delivered: stats.delivered,
    delivered_per_s: stats.delivered / duration,
    lost: stats.expected - stats.delivered,
    duplicates: stats.duplicates,
    echoes: stats.echoes,
    latency_ms: percentiles(stats.wireLatency),
    full_client_latency_ms: percentiles(stats.fullLatency),
    final_state: { full_clients: fullClients.length, missing_or_stale_systems: finalMismatches() },
    received_messages: stats.received,
    errors: {
      connect_failures: stats.connectFailures,
      disconnects: stats.disconnects,
      ws_errors: stats.wsErrors,
      permission_denied: stats.permissionDenied,
      last: stats.lastErrors
    },
    generator: {
      cpu_s: cpuSeconds,
      cpu_utilization: cpuSeconds / duration,
      event_loop_delay_p99_ms: loopLag(loopDelay.percentile(99)),
      event_loop_delay_max_ms: loopLag(loopDelay.max)
    }
  }
  emit({ result })
  const l = result.latency_ms
  log(`${result.workload}: sent ${stats.sent} (${result.sent_per_s.toFixed(0)}/s), ` +
    `delivered ${stats.delivered} (${result.delivered_per_s.toFixed(0)}/s), lost ${result.lost}, ` +
    `latency p50 ${l.p50} ms p99 ${l.p99} ms, final-state mismatches ${result.final_state.missing_or_stale_systems}, ` +
    `errors ${JSON.stringify(result.errors)}, generator cpu ${(100 * result.generator.cpu_utilization).toFixed(0)}%`)
  await shutdown(0)
}

// A hard stop no matter what: connect + warm-up + run + drain, plus slack.
const deadline = opt.idle
  ? num('hold') + num('connect-timeout') * clients.length / Math.max(1, num('connect-concurrency')) + 30
  : warmup + duration + num('drain') + num('connect-timeout') * clients.length / Math.max(1, num('connect-concurrency')) + 30
setTimeout(() => {
  log(`loadgen: hard deadline of ${deadline.toFixed(0)}s reached`)
  process.exit(3)
}, deadline * 1000).unref()

await (opt.idle ? runIdle() : runLoad())
