"""The broadcast frame mapper builds once and writes to every socket is the frame websockets
itself would send."""

import pytest
from websockets.frames import Frame, Opcode

from mapper.core.protocol import binary_frame


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65535, 65536, 300_000])
def test_binary_frame_matches_websockets(size: int) -> None:
    payload = bytes(range(256)) * (size // 256) + bytes(size % 256)
    expected = Frame(Opcode.BINARY, payload).serialize(mask=False)
    assert binary_frame(payload) == expected
