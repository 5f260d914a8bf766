"""One invocation at a time per web worker, as on a warm Lambda instance, taken in turn from each
caller's queue: a caller with many requests waiting (a tenant's burst, one tenant's expensive
reads) delays another caller by the invocation under way, not by its whole queue.

A caller is the credential a request carries (its Authorization header), known before the
authorizer runs; requests without one share a queue. Everything but the invocations themselves
runs on the worker's event loop.
"""

import asyncio
from collections import OrderedDict, deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

T = TypeVar("T")
Waiting = tuple[Callable[[], Any], "asyncio.Future[Any]"]


class InvocationTurns:
    def __init__(self) -> None:
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="invocation")
        self._queues: OrderedDict[str, deque[Waiting]] = OrderedDict()
        # The caller being served and its queue, out of the line until its invocation ends.
        self._serving: tuple[str, deque[Waiting]] | None = None

    async def run(self, caller: str, call: Callable[..., T], *args: Any) -> T:
        """``call(*args)`` on the invocation thread, once it is ``caller``'s turn."""
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[T] = loop.create_future()
        if self._serving is not None and self._serving[0] == caller:
            queue = self._serving[1]
        else:
            queue = self._queues.setdefault(caller, deque())
        queue.append((partial(call, *args), answer))
        if self._serving is None:
            self._start_next(loop)
        return await answer

    async def alone(self, call: Callable[..., T], *args: Any) -> T:
        """``call(*args)`` on the invocation thread outside the turns (start-up, before any request)."""
        return await asyncio.get_running_loop().run_in_executor(self._thread, partial(call, *args))

    def _start_next(self, loop: asyncio.AbstractEventLoop) -> None:
        while self._queues:
            caller, queue = self._queues.popitem(last=False)
            call, answer = queue.popleft()
            if answer.cancelled():  # its client left while it waited
                if queue:
                    self._queues[caller] = queue
                continue
            self._serving = (caller, queue)
            running = loop.run_in_executor(self._thread, call)
            running.add_done_callback(partial(self._finished, loop, answer, caller, queue))
            return

    def _finished(
        self,
        loop: asyncio.AbstractEventLoop,
        answer: "asyncio.Future[Any]",
        caller: str,
        queue: deque[Waiting],
        done: "asyncio.Future[Any]",
    ) -> None:
        if not answer.cancelled():
            error = done.exception()
            if error is not None:
                answer.set_exception(error)
            else:
                answer.set_result(done.result())
        self._serving = None
        if queue:  # the back of the line, behind whoever came while it was served
            self._queues[caller] = queue
        self._start_next(loop)

    def shutdown(self) -> None:
        """Wait for the invocation under way (gunicorn stops handing over requests first)."""
        self._thread.shutdown(wait=True)
