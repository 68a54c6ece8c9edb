"""A synchronous facade over the async sessions, so that the behaviour suites written for
`S3Session`/`B2Session` run unchanged against `AsyncS3Session`/`AsyncB2Session`.

Each facade owns one event loop on a background thread; the async session is built, used and
closed on that loop. Every coroutine method becomes a blocking call; an `AsyncListing` becomes
a sync iterable (`iter_objects()`/`iter_prefixes()` too); a streamed `AsyncResponse` becomes
an object with `read()`, `iter_chunks()`, `data`, `close()` and `with`; `with` on the facade
is `async with` on the session. Nothing here runs sync code of the library in a thread: the
library code under test is the async one, the facade only waits for it.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import threading
import weakref
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import Future
from typing import Any, TypeVar

from s3lite.response import DEFAULT_CHUNK

T = TypeVar("T")

__all__ = [
    "AsyncB2Facade",
    "AsyncS3Facade",
    "Loop",
    "SyncMultipartUpload",
    "SyncResponse",
    "wrap",
]


class Loop:
    """An event loop running on a daemon thread; `run(coro)` waits for the coroutine there."""

    def __init__(self, name: str = "syncfacade") -> None:
        self.loop = asyncio.new_event_loop()
        started = threading.Event()

        def serve() -> None:
            asyncio.set_event_loop(self.loop)
            started.set()
            self.loop.run_forever()
            # stopped: let the loop finish what close() scheduled, then close it
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.close()

        self.thread = threading.Thread(target=serve, name=name, daemon=True)
        self.thread.start()
        started.wait()

    def run(self, awaitable: Awaitable[T]) -> T:
        """Run `awaitable` on the loop and return its result (its exception is raised here)."""
        if threading.current_thread() is self.thread:
            raise RuntimeError("a facade method was called from its own event loop")

        async def wrapper() -> T:
            return await awaitable

        future: Future[T] = asyncio.run_coroutine_threadsafe(wrapper(), self.loop)
        try:
            return future.result()
        except KeyboardInterrupt:  # a Ctrl-C here cancels the task, as it would in asyncio.run
            future.cancel()
            raise

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call a plain function on the loop's thread (objects bound to the loop)."""

        async def wrapper() -> T:
            return fn(*args, **kwargs)

        return self.run(wrapper())

    def stop(self) -> None:
        if self.loop.is_closed() or not self.thread.is_alive():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        if threading.current_thread() is not self.thread:
            self.thread.join(timeout=30)


def _is_async_object(value: Any) -> bool:
    """Whether `value` is one of the async API's objects (AsyncListing, an async lock...)."""
    module = type(value).__module__ or ""
    return module.startswith("s3lite.aio")


def wrap(loop: Loop, value: Any, owner: Any = None) -> Any:
    """What a sync caller gets for `value`, a result of the async API. `owner` (the facade)
    is kept alive by what is returned: its loop runs as long as the facade lives."""
    from s3lite.aio.response import AsyncResponse

    if isinstance(value, AsyncResponse):
        return SyncResponse(loop, value, owner)
    if inspect.isawaitable(value):
        return wrap(loop, loop.run(value), owner)
    if inspect.isasyncgen(value):
        return _iterate(loop, value, owner)
    if _is_async_object(value) or hasattr(value, "__aiter__") or hasattr(value, "__aenter__"):
        return SyncProxy(loop, value, owner)
    return value


def _iterate(loop: Loop, iterable: Any, owner: Any = None) -> Iterator[Any]:
    """A sync iterator over an async iterable; closes it when abandoned."""
    iterator = iterable.__aiter__()
    try:
        while True:
            try:
                item = loop.run(iterator.__anext__())
            except StopAsyncIteration:
                return
            yield wrap(loop, item, owner)
    finally:
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None and not loop.loop.is_closed():
            loop.run(aclose())


def _method(loop: Loop, fn: Callable[..., Any], owner: Any) -> Callable[..., Any]:
    """`fn` (a coroutine function, or a function returning async objects) as a sync call;
    `owner` (the facade) lives as long as the call does (`Facade(...).method()` works)."""

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        if inspect.iscoroutinefunction(fn):
            return wrap(loop, loop.run(fn(*args, **kwargs)), owner)
        # called on the loop's thread: what it builds may bind to the running loop
        return wrap(loop, loop.call(fn, *args, **kwargs), owner)

    return call


def _async_shim(fn: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    """`fn`, a sync function written against the facade, as a coroutine function."""

    @functools.wraps(fn)
    async def shim(*args: Any, **kwargs: Any) -> Any:
        return _unwrap(await asyncio.to_thread(fn, *args, **kwargs))

    return shim


class SyncProxy:
    """Forwards attribute access to an async object: methods become sync calls, async
    iteration becomes iteration, `async with` becomes `with`. Plain attributes are the async
    object's own (setting one sets it there)."""

    def __init__(self, loop: Loop, target: Any, owner: Any = None) -> None:
        object.__setattr__(self, "_loop", loop)
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_owner", owner)  # keeps the facade (and its loop) alive

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if inspect.ismethod(value) or inspect.isfunction(value):
            return _method(self._loop, value, self._owner or self)
        if name == "multipart_backend":  # its primitives are coroutines: drive them too
            return SyncProxy(self._loop, value, self._owner or self)
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        """Set the attribute on the async object. A sync function put in place of one of its
        coroutine methods (a test's patch) becomes a coroutine that runs the function in a
        worker thread, where it may call the facade, and hands back the async result."""
        if callable(value) and not inspect.iscoroutinefunction(value):
            current = getattr(type(self._target), name, None)
            if inspect.iscoroutinefunction(current):
                value = _async_shim(value)
        setattr(self._target, name, value)

    def __iter__(self) -> Iterator[Any]:
        if not hasattr(self._target, "__aiter__"):
            raise TypeError(f"{type(self._target).__name__} is not iterable")
        return _iterate(self._loop, self._target, self._owner)

    def __enter__(self) -> Any:
        entered = self._loop.run(self._target.__aenter__())
        return self if entered is self._target else wrap(self._loop, entered, self._owner)

    def __exit__(self, *exc: Any) -> Any:
        return self._loop.run(self._target.__aexit__(*exc))

    def __repr__(self) -> str:
        return f"<sync {self._target!r}>"


class SyncResponse(SyncProxy):
    """A streamed (or read) `AsyncResponse` with the sync `Response`'s body methods."""

    @property
    def data(self) -> bytes:
        """The whole body, read on first use (as on the sync `Response`)."""
        target = self._target
        if not target.loaded:
            self._loop.run(target.read())
        return target.data  # type: ignore[no-any-return]

    @property
    def content(self) -> bytes:
        return self.data

    def read(self, amt: int | None = None) -> bytes:
        """Up to `amt` bytes (all the rest when None); b'' at the end."""
        return self._loop.run(self._target.read(amt))  # type: ignore[no-any-return]

    def iter_chunks(self, chunk_size: int = DEFAULT_CHUNK) -> Iterator[bytes]:
        """The body in chunks of at most `chunk_size` bytes."""
        return _iterate(self._loop, self._target.iter_chunks(chunk_size), self._owner)

    def __iter__(self) -> Iterator[bytes]:
        return self.iter_chunks()

    def close(self) -> None:
        """Release the connection now (closed unless the body was read to its end)."""
        if not self._loop.loop.is_closed():
            self._loop.call(self._target.close)

    def __enter__(self) -> SyncResponse:
        return self

    def __exit__(self, *exc: Any) -> None:
        if not self._loop.loop.is_closed():
            self._loop.run(self._target.aclose())


def _shutdown(loop: Loop, session: Any) -> None:
    """Close a facade's session and stop its loop (when closed, or when garbage collected)."""
    if loop.loop.is_closed() or not loop.thread.is_alive():
        return
    if threading.current_thread() is loop.thread:  # collected on its own loop: schedule it
        task = loop.loop.create_task(session.close())
        task.add_done_callback(lambda _: loop.loop.stop())
        return
    try:
        loop.run(session.close())
    finally:
        loop.stop()


def _build(cls: type[Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """`cls(*args, **kwargs)` on the loop; a sync `Transport` given as `transport=` (a test
    that connects somewhere else with `resolve=`) is replaced by an `AsyncTransport` that
    does the same."""
    from s3lite.transport import Transport

    transport = kwargs.get("transport")
    if isinstance(transport, Transport):
        from s3lite.aio.transport import AsyncTransport

        kwargs = {**kwargs, "transport": AsyncTransport(resolve=transport.resolve)}
    return cls(*args, **kwargs)


class _SessionFacade(SyncProxy):
    """An async session driven synchronously from its own event loop thread."""

    #: the async session class (imported lazily: the extra may be missing)
    _async_class: Callable[[], type[Any]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        loop = Loop(f"facade-{type(self).__name__}")
        cls = type(self)._async_class()
        try:
            session = loop.call(_build, cls, args, kwargs)
        except BaseException:
            loop.stop()
            raise
        super().__init__(loop, session)
        object.__setattr__(self, "_finalizer", weakref.finalize(self, _shutdown, loop, session))

    @property
    def session(self) -> Any:
        """The async session itself."""
        return self._target

    def close(self) -> None:
        """Close the session (`await session.close()`) and stop the loop."""
        self._finalizer()

    def __enter__(self) -> Any:
        self._loop.run(self._target.__aenter__())
        return self

    def __exit__(self, *exc: Any) -> None:
        try:
            self._loop.run(self._target.__aexit__(*exc))
        finally:
            self._finalizer()

    def __repr__(self) -> str:
        return repr(self._target)

    def __str__(self) -> str:
        return str(self._target)


def _async_s3() -> type[Any]:
    from s3lite.aio.s3 import AsyncS3Session

    return AsyncS3Session


def _async_b2() -> type[Any]:
    from s3lite.aio.b2 import AsyncB2Session

    return AsyncB2Session


class AsyncS3Facade(_SessionFacade):
    """`AsyncS3Session(...)`, used like an `S3Session`."""

    _async_class = staticmethod(_async_s3)


class AsyncB2Facade(_SessionFacade):
    """`AsyncB2Session(...)`, used like a `B2Session`."""

    _async_class = staticmethod(_async_b2)


def _async_upload_class() -> type[Any]:
    from s3lite.aio import multipart

    for name in ("AsyncMultipartUpload", "MultipartUpload"):
        cls = getattr(multipart, name, None)
        if cls is not None:
            return cls  # type: ignore[no-any-return]
    raise ImportError("s3lite.aio.multipart has no AsyncMultipartUpload")


def _unwrap(value: Any) -> Any:
    return value._target if isinstance(value, SyncProxy) else value


class SyncMultipartUpload(SyncProxy):
    """The async multipart engine, used like `s3lite.multipart.MultipartUpload` on a facade."""

    def __init__(self, session: _SessionFacade, *args: Any, **kwargs: Any) -> None:
        cls = _async_upload_class()
        upload = session._loop.call(cls, _unwrap(session), *args, **kwargs)
        super().__init__(session._loop, upload, session)

    @classmethod
    def resume(cls, session: _SessionFacade, *args: Any, **kwargs: Any) -> Any:
        """`AsyncMultipartUpload.resume(...)` on the facade's loop."""
        resume = _async_upload_class().resume
        upload = session._loop.call(resume, _unwrap(session), *args, **kwargs)
        return wrap(session._loop, upload, session)
