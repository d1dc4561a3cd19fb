"""What `mapper.transport` takes from uvicorn's private websocket protocol, checked.

`mapper.transport.WebSocketProtocol` subclasses `WebSocketsSansIOProtocol`, which is not part of
uvicorn's public API; pyproject.toml pins uvicorn below the next minor version. When uvicorn
changes, this test says exactly what moved, before a user meets it as a broken socket.
"""

from __future__ import annotations

import asyncio
import inspect

import uvicorn
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.asyncio.client import connect
from websockets.http11 import Request
from websockets.server import ServerProtocol

from mapper.core.protocol import binary_frame
from mapper.transport import DIRECT_WRITE, RECEIVE_NOW, WebSocketProtocol
from tests.server import free_port

# The methods mapper overrides or calls, with the parameters it passes.
METHODS = {
    "connection_made": ["self", "transport"],
    "connection_lost": ["self", "exc"],
    "send": ["self", "message"],
    "handle_connect": ["self", "event"],
    "send_receive_event_to_app": ["self"],
    "data_received": ["self", "data"],
    "pause_writing": ["self"],
    "resume_writing": ["self"],
    "keepalive_timeout": ["self"],
    "shutdown": ["self"],
}
# Attributes mapper reads on a connected protocol, with their types.
ATTRIBUTES = {
    "loop": asyncio.AbstractEventLoop,
    "transport": asyncio.Transport,
    "conn": ServerProtocol,
    "writable": asyncio.Event,
    "handshake_initiated": bool,
    "handshake_complete": bool,
    "close_sent": bool,
    "disconnected": bool,
    "scope": dict,
    "queue": asyncio.Queue,
    "frames": list,
}
# Read when a message is complete (send_receive_event_to_app): its frames, and its type.
MESSAGE_ATTRIBUTES = {"frames": list, "curr_msg_data_type": str}


def test_the_private_methods_are_there() -> None:
    for name, parameters in METHODS.items():
        method = getattr(WebSocketsSansIOProtocol, name, None)
        assert method is not None, f"uvicorn's WebSocketsSansIOProtocol has no {name}() now"
        assert list(inspect.signature(method).parameters) == parameters, name
    assert inspect.iscoroutinefunction(WebSocketsSansIOProtocol.send)
    # handle_connect gets the parsed request of websockets' sans-I/O server.
    assert "Request" in str(inspect.signature(WebSocketsSansIOProtocol.handle_connect))


async def test_a_connected_protocol_has_what_mapper_reads() -> None:
    """A real handshake through uvicorn with mapper's protocol: the attributes are there with
    their types, the direct-write extension hands over the transport, a frame written to it
    reaches the client, and it is taken back when the socket closes; the receive-now extension
    gets a message the client sends, in the state mapper reads."""
    seen: list[WebSocketProtocol] = []
    message_states: list[dict[str, object]] = []
    received: list[bytes] = []
    original_connect = WebSocketProtocol.handle_connect
    original_complete = WebSocketProtocol.send_receive_event_to_app

    def spy_connect(self: WebSocketProtocol, event: Request) -> None:
        seen.append(self)
        original_connect(self, event)

    def spy_complete(self: WebSocketProtocol) -> None:
        message_states.append({name: getattr(self, name) for name in MESSAGE_ATTRIBUTES})
        original_complete(self)

    transports: list[asyncio.WriteTransport | None] = []

    def receiver(message: bytes) -> bool:
        received.append(message)
        return True

    async def app(scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        assert scope["type"] == "websocket"
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        scope["extensions"][RECEIVE_NOW](receiver)
        scope["extensions"][DIRECT_WRITE](transports.append)
        transport = transports[-1]
        assert transport is not None
        transport.write(binary_frame(b"\x00\x01"))
        await receive()  # the client's close

    port = free_port()
    protocol = type(
        "Spied",
        (WebSocketProtocol,),
        {"handle_connect": spy_connect, "send_receive_event_to_app": spy_complete},
    )
    config = uvicorn.Config(app, host="127.0.0.1", port=port, ws=protocol, log_level="warning")
    server, task = await _serve(config)
    try:
        async with connect(f"ws://127.0.0.1:{port}/") as client:
            assert await asyncio.wait_for(client.recv(), 5) == b"\x00\x01"
            (connected,) = seen
            for name, kind in ATTRIBUTES.items():
                assert isinstance(getattr(connected, name), kind), name
            assert connected.handshake_complete
            await client.send(b"\x00\x00\x01\x00")
            for _ in range(500):
                if received:
                    break
                await asyncio.sleep(0.01)
            assert received == [b"\x00\x00\x01\x00"]
            (state,) = message_states
            for name, kind in MESSAGE_ATTRIBUTES.items():
                assert isinstance(state[name], kind), name
            assert state["curr_msg_data_type"] == "bytes"
        for _ in range(500):
            if transports[-1] is None:
                break
            await asyncio.sleep(0.01)
        assert transports[0] is None and transports[1] is not None and transports[-1] is None
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


async def _serve(config: uvicorn.Config) -> tuple[uvicorn.Server, asyncio.Task[None]]:
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started or task.done():
            break
        await asyncio.sleep(0.01)
    if task.done():
        task.result()
    return server, task


def _client_frame(opcode: int, payload: bytes, *, fin: bool = True) -> bytes:
    mask = b"\x0f\xa1\x5c\x33"
    size = len(payload)
    if size < 126:
        length = bytes((0x80 | size,))
    elif size < 1 << 16:
        length = bytes((0x80 | 126,)) + size.to_bytes(2, "big")
    else:
        length = bytes((0x80 | 127,)) + size.to_bytes(8, "big")
    masked = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
    return bytes(((0x80 if fin else 0) | opcode,)) + length + mask + masked


async def test_frames_read_by_hand_arrive_whole_and_in_order() -> None:
    """mapper reads frames itself after the handshake and leaves the rare ones to websockets:
    split at any byte, fragmented, mixed with pings and text, declined by the receiver, or
    too long for it, every message reaches the app once and in order."""
    got: list[tuple[str, bytes | str]] = []
    declined = {b"declined"}

    def receiver(message: bytes) -> bool:
        if message in declined:
            return False
        got.append(("now", message))
        return True

    async def app(scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        await receive()
        await send({"type": "websocket.accept"})
        scope["extensions"][RECEIVE_NOW](receiver)
        while (message := await receive())["type"] == "websocket.receive":
            got.append(("queue", message.get("bytes") or message.get("text") or ""))

    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, ws=WebSocketProtocol, log_level="warning"
    )
    server, task = await _serve(config)
    big = bytes(range(256)) * 300  # a 64-bit length: websockets reads from there on
    sent = [b"one", bytes(300), b"declined", b"two", b"frag" + b"mented", "text", b"three"]
    stream = (
        _client_frame(2, b"one")
        + _client_frame(2, bytes(300))
        + _client_frame(9, b"ping")
        + _client_frame(2, b"declined")
        + _client_frame(2, b"two")
        + _client_frame(2, b"frag", fin=False)
        + _client_frame(0, b"mented")
        + _client_frame(1, b"text")
        + _client_frame(2, b"three")
    )
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        for _ in range(500):  # the receiver is set once the app has accepted
            if server.server_state.connections and all(
                getattr(c, "_receiver", None) for c in server.server_state.connections
            ):
                break
            await asyncio.sleep(0.01)
        for start in range(0, len(stream), 7):  # pieces that split headers and payloads
            writer.write(stream[start : start + 7])
            await writer.drain()
            await asyncio.sleep(0.001)
        pong = await asyncio.wait_for(reader.readexactly(6), 5)
        assert pong == b"\x8a\x04ping"
        (connection,) = server.server_state.connections
        # uvicorn handed the request over alone: the frames were read by hand.
        assert isinstance(connection, WebSocketProtocol) and connection._unread is not None
        writer.write(_client_frame(2, big) + _client_frame(2, b"after"))
        await writer.drain()
        for _ in range(500):
            if len(got) == len(sent) + 2:
                break
            await asyncio.sleep(0.01)
        assert [message for _, message in got] == [*sent, big, b"after"]
        assert ("now", b"one") in got and ("queue", b"declined") in got
        assert connection._unread is None
        writer.close()
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
