// Re-exports of this package's dependencies for scripts outside tests/node (bench/loadgen.mjs):
// ESM resolves bare imports relative to the importing file, and loading yjs through any other
// path (e.g. its CommonJS build) would create a second Yjs instance.
export * as Y from 'yjs'
export { WebsocketProvider } from 'y-websocket'
export { default as WebSocket } from 'ws'
export * as encoding from 'lib0/encoding'
export * as decoding from 'lib0/decoding'
