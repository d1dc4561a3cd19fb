#!/usr/bin/env node
// A scriptable real Yjs client: one process = one Y.Doc + one WebsocketProvider.
//
// Driven by JSON lines on stdin ({"id": 1, "cmd": "set", ...}); answers one JSON line per
// command on stdout ({"id": 1, "result": ...} or {"id": 1, "error": "..."}), interleaved with
// unsolicited event lines ({"event": "synced"}, ...). Exits when stdin closes.
//
//   node yclient.mjs --url ws://127.0.0.1:PORT/ws/chains --room ROOM --token TOKEN --client v3|v4
//
// v3 = y-websocket 3.x on yjs 13; v4 = @y/websocket 4.x prerelease on @y/y (yjs 14). Both speak
// the same wire protocol; they are separate stacks because each provider only works with the
// Y.Doc class of its own Yjs build.
import { parseArgs } from 'node:util'
import readline from 'node:readline'
import WebSocket from 'ws'
import * as decoding from 'lib0/decoding'

// stdout carries the protocol only; library chatter must not corrupt it.
console.log = console.info = console.debug = console.error

const { values: args } = parseArgs({
  options: {
    url: { type: 'string' },
    room: { type: 'string' },
    token: { type: 'string', default: '' },
    client: { type: 'string', default: 'v3' },
    offline: { type: 'boolean', default: false } // start without connecting
  }
})
if (!args.url || !args.room || !['v3', 'v4'].includes(args.client)) {
  process.stderr.write('usage: yclient.mjs --url URL --room ROOM [--token T] [--client v3|v4] [--offline]\n')
  process.exit(2)
}

const Y = args.client === 'v4' ? await import('@y/y') : await import('yjs')
const { WebsocketProvider } = args.client === 'v4' ? await import('y-websocket-4') : await import('y-websocket')

const ROOTS = ['meta', 'systems', 'connections', 'signatures']
const messageAuth = 2
const messagePermissionDenied = 0

const emit = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')

const doc = new Y.Doc()
const provider = new WebsocketProvider(args.url, args.room, doc, {
  connect: !args.offline,
  params: args.token ? { token: args.token } : {},
  WebSocketPolyfill: WebSocket,
  // Every byte must go through the server under test, never a same-process shortcut.
  disableBc: true
})

// The providers only console.warn a `02 00 reason` auth message; surface it as an event.
provider.messageHandlers[messageAuth] = (_encoder, decoder) => {
  if (decoding.readVarUint(decoder) === messagePermissionDenied) {
    emit({ event: 'permission-denied', reason: decoding.readVarString(decoder) })
  }
}
provider.on('status', ({ status }) => emit({ event: 'status', status }))
provider.on('sync', (synced) => emit({ event: synced ? 'synced' : 'unsynced' }))
// `event` is null when we closed the socket ourselves (disconnect()).
provider.on('connection-close', (event) =>
  emit({ event: 'connection-close', code: event?.code ?? null, reason: event?.reason ?? '' }))
provider.on('connection-error', (event) =>
  emit({ event: 'connection-error', message: String(event?.message ?? event?.error ?? 'error') }))
// Only y-websocket >= 3.1 has this: a 4400-4499 close code stops reconnecting.
provider.on('closed', ({ code, reason }) => emit({ event: 'closed', code, reason }))
provider.awareness.on('change', ({ added, updated, removed }) =>
  emit({ event: 'awareness', added, updated, removed }))
// Document updates that came from the server, for tests that count what woke the client.
let updatesReceived = 0
doc.on('update', (_update, origin) => { if (origin === provider) updatesReceived++ })
process.on('uncaughtException', (err) => emit({ event: 'error', message: String(err?.stack ?? err) }))

const docJSON = () => Object.fromEntries(ROOTS.map((name) => [name, doc.getMap(name).toJSON()]))

// Plain JSON at `path` ([root, key, ...]); a missing entry reads as null.
const jsonAt = (path) => {
  let v = doc.getMap(path[0]).toJSON()
  for (const key of path.slice(1)) {
    if (v === null || typeof v !== 'object' || !(key in v)) return null
    v = v[key]
  }
  return v
}

// Order-insensitive for object keys, so {"x":1,"y":2} equals {"y":2,"x":1}.
const canonical = (v) => JSON.stringify(v, (_k, val) =>
  val && typeof val === 'object' && !Array.isArray(val)
    ? Object.fromEntries(Object.keys(val).sort().map((k) => [k, val[k]]))
    : val)

const checkPath = (path, minLength) => {
  if (!Array.isArray(path) || path.length < minLength || !path.every((k) => typeof k === 'string')) {
    throw new Error(`path must be a list of at least ${minLength} strings, got ${JSON.stringify(path)}`)
  }
}

// The Y.Map holding the last element of `path`, creating intermediate Y.Maps if `create`.
const parentMap = (path, create) => {
  let map = doc.getMap(path[0])
  for (const key of path.slice(1, -1)) {
    let child = map.get(key)
    if (!(child instanceof Y.Map)) {
      if (!create) throw new Error(`no Y.Map at ${key} in ${JSON.stringify(path)}`)
      child = new Y.Map()
      map.set(key, child)
    }
    map = child
  }
  return map
}

const textAt = (path) => {
  checkPath(path, 2)
  const text = parentMap(path, false).get(path.at(-1))
  if (!(text instanceof Y.Text)) throw new Error(`no Y.Text at ${JSON.stringify(path)}`)
  return text
}

const timeoutError = (what, timeout) => new Error(`timeout after ${timeout}s waiting for ${what}`)

const waitSynced = (timeout = 5) => new Promise((resolve, reject) => {
  if (provider.synced) return resolve(true)
  const onSync = (synced) => {
    if (!synced) return
    clearTimeout(timer)
    provider.off('sync', onSync)
    resolve(true)
  }
  const timer = setTimeout(() => {
    provider.off('sync', onSync)
    reject(timeoutError('sync', timeout))
  }, timeout * 1000)
  provider.on('sync', onSync)
})

const waitFor = (path, value, timeout = 5) => new Promise((resolve, reject) => {
  checkPath(path, 1)
  const want = canonical(value)
  const check = () => canonical(jsonAt(path)) === want
  if (check()) return resolve(true)
  const onUpdate = () => {
    if (!check()) return
    clearTimeout(timer)
    doc.off('update', onUpdate)
    resolve(true)
  }
  const timer = setTimeout(() => {
    doc.off('update', onUpdate)
    reject(timeoutError(`${JSON.stringify(path)} == ${want} (is ${JSON.stringify(jsonAt(path))})`, timeout))
  }, timeout * 1000)
  doc.on('update', onUpdate)
})

const commands = {
  connect: () => provider.connect(),
  disconnect: () => provider.disconnect(),
  wait_synced: ({ timeout }) => waitSynced(timeout),
  set: ({ path, value }) => {
    checkPath(path, 2)
    doc.transact(() => parentMap(path, true).set(path.at(-1), value))
  },
  // A new Y.Map under root[key]; a string field named `notes` becomes collaborative Y.Text.
  set_map: ({ root, key, value }) => {
    checkPath([root, key], 2)
    doc.transact(() => {
      const map = new Y.Map()
      doc.getMap(root).set(key, map)
      for (const [field, v] of Object.entries(value ?? {})) {
        if (field === 'notes' && typeof v === 'string') {
          const text = new Y.Text()
          map.set(field, text)
          text.insert(0, v)
        } else {
          map.set(field, v)
        }
      }
    })
  },
  // Append values to the Y.Array at `path` (made there first if missing).
  push: ({ path, values }) => {
    checkPath(path, 2)
    doc.transact(() => {
      const parent = parentMap(path, true)
      let array = parent.get(path.at(-1))
      if (!(array instanceof Y.Array)) {
        array = new Y.Array()
        parent.set(path.at(-1), array)
      }
      array.push(values)
    })
  },
  delete: ({ path }) => {
    checkPath(path, 2)
    doc.transact(() => parentMap(path, false).delete(path.at(-1)))
  },
  text_insert: ({ path, index, text }) => textAt(path).insert(index, text),
  text_delete: ({ path, index, length }) => textAt(path).delete(index, length),
  get: () => docJSON(),
  wait_for: ({ path, value, timeout }) => waitFor(path, value, timeout),
  awareness_set: ({ state }) => provider.awareness.setLocalState(state),
  awareness_states: () => Object.fromEntries(provider.awareness.getStates()),
  client_id: () => doc.clientID,
  updates_received: () => updatesReceived,
  exit: () => setImmediate(shutdown)
}

const handle = async (line) => {
  let msg
  try {
    msg = JSON.parse(line)
  } catch (err) {
    return emit({ id: null, error: `bad JSON: ${err.message}` })
  }
  const { id = null, cmd } = msg
  try {
    if (!Object.hasOwn(commands, cmd)) throw new Error(`unknown command ${JSON.stringify(cmd)}`)
    const result = await commands[cmd](msg)
    emit({ id, result: result ?? null })
  } catch (err) {
    emit({ id, error: String(err?.message ?? err) })
  }
}

function shutdown () {
  provider.destroy()
  doc.destroy()
  process.exit(0)
}

const rl = readline.createInterface({ input: process.stdin })
rl.on('line', (line) => { if (line.trim()) handle(line) })
rl.on('close', shutdown)
