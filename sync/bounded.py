"""Reading an outside HTTP answer with a bound on its size: a body past the bound is refused
while it arrives, before it can fill memory."""

from __future__ import annotations

import httpx


class TooLarge(Exception):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status  # the answer's HTTP status


async def get_bounded(
    http: httpx.AsyncClient, path: str, *, headers: dict[str, str], max_bytes: int
) -> tuple[httpx.Response, bytes]:
    """GET `path`: the response (its headers) and its body, at most `max_bytes` long
    (decoded). Raises TooLarge past that, and httpx's errors."""
    async with http.stream("GET", path, headers=headers) as response:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise TooLarge(f"{declared} bytes, over {max_bytes}", response.status_code)
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > max_bytes:
                raise TooLarge(f"over {max_bytes} bytes", response.status_code)
            chunks.append(chunk)
    return response, b"".join(chunks)
