"""The web worker's invocation turns: one at a time, callers in turn."""

import asyncio
import threading

from local.turns import InvocationTurns


def test_a_caller_with_a_queue_delays_another_by_one_invocation_not_by_its_queue() -> None:
    order: list[str] = []
    gate = threading.Event()

    def invocation(name: str) -> str:
        if name == "a0":
            gate.wait(5)  # a's first invocation is under way while the rest queue up
        order.append(name)
        return name

    async def scenario() -> list[str]:
        turns = InvocationTurns()
        loud = [asyncio.create_task(turns.run("Bearer a", invocation, f"a{n}")) for n in range(5)]
        await asyncio.sleep(0.05)
        quiet = asyncio.create_task(turns.run("Bearer b", invocation, "b0"))
        await asyncio.sleep(0.05)
        gate.set()
        return list(await asyncio.gather(*loud, quiet))

    assert asyncio.run(scenario()) == ["a0", "a1", "a2", "a3", "a4", "b0"]  # each caller gets its own answers
    assert order == ["a0", "b0", "a1", "a2", "a3", "a4"]


def test_one_invocation_at_a_time_whatever_the_callers() -> None:
    running, most = 0, 0
    lock = threading.Lock()

    def invocation() -> None:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        threading.Event().wait(0.005)
        with lock:
            running -= 1

    async def scenario() -> None:
        turns = InvocationTurns()
        await asyncio.gather(*(turns.run(f"caller {n % 3}", invocation) for n in range(12)))

    asyncio.run(scenario())
    assert most == 1


def test_a_failing_invocation_fails_its_caller_only_and_a_left_one_is_skipped() -> None:
    ran: list[str] = []

    def invocation(name: str) -> str:
        ran.append(name)
        if name == "bad":
            raise ValueError(name)
        return name

    async def scenario() -> tuple[BaseException | str, ...]:
        turns = InvocationTurns()
        first = asyncio.create_task(turns.run("x", invocation, "bad"))
        left = asyncio.create_task(turns.run("y", invocation, "left"))
        after = asyncio.create_task(turns.run("z", invocation, "after"))
        await asyncio.sleep(0)
        left.cancel()
        return tuple(await asyncio.gather(first, after, return_exceptions=True))

    failed, after = asyncio.run(scenario())
    assert isinstance(failed, ValueError) and after == "after"
    assert "left" not in ran
