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
from mapper.transport import RECEIVE_NOW, SEND_NOW, WebSocketProtocol
from tests.server import free_port

# The methods mapper overrides or calls, with the parameters it passes.
METHODS = {
    "connection_made": ["self", "transport"],
    "connection_lost": ["self", "exc"],
    "send": ["self", "message"],
    "handle_connect": ["self", "event"],
    "send_receive_event_to_app": ["self"],
}
# Attributes mapper reads on a connected protocol, with their types.
ATTRIBUTES = {
    "loop": asyncio.AbstractEventLoop,
    "transport": asyncio.Transport,
    "conn": ServerProtocol,
    "writable": asyncio.Event,
    "handshake_complete": bool,
    "close_sent": bool,
    "disconnected": bool,
    "scope": dict,
    "queue": asyncio.Queue,
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
    their types, the send-now extension writes a frame the client receives, and the
    receive-now extension gets a message the client sends, in the state mapper reads."""
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

    def receiver(message: bytes) -> bool:
        received.append(message)
        return True

    async def app(scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        assert scope["type"] == "websocket"
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        scope["extensions"][RECEIVE_NOW](receiver)
        assert scope["extensions"][SEND_NOW](binary_frame(b"\x00\x01")) is True
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
