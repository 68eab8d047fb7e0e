"""PendingActionQueue: ordering by (due time, sequence), FIFO ties, boundaries."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from finbot_bt.execution import ActionKind, PendingActionQueue
from tests.factories import T0, ms


def _ids(actions: list) -> list[str]:
    return [a.order_id for a in actions]


def test_queue_when_added_out_of_order_then_pops_by_due_time() -> None:
    queue = PendingActionQueue()
    queue.add_action(T0 + ms(30), ActionKind.SUBMIT, "c")
    queue.add_action(T0 + ms(10), ActionKind.CANCEL, "a")
    queue.add_action(T0 + ms(20), ActionKind.FILL_REPORT, "b", payload={"q": "1"})
    assert len(queue) == 3
    assert queue.peek_time() == T0 + ms(10)
    assert _ids(queue.process_until(T0 + ms(30))) == ["a", "b", "c"]
    assert len(queue) == 0 and queue.peek_time() is None


def test_queue_when_same_due_time_then_fifo_by_sequence() -> None:
    queue = PendingActionQueue()
    for name in ["first", "second", "third"]:
        queue.add_action(T0, ActionKind.SUBMIT, name)
    popped = queue.process_until(T0)
    assert _ids(popped) == ["first", "second", "third"]
    assert [a.sequence for a in popped] == [0, 1, 2]
    assert queue.next_sequence == 3


def test_queue_when_process_until_then_boundary_inclusive_and_later_kept() -> None:
    queue = PendingActionQueue()
    queue.add_action(T0 - ms(1), ActionKind.SUBMIT, "before")
    queue.add_action(T0, ActionKind.SUBMIT, "at")
    queue.add_action(T0 + timedelta(microseconds=1), ActionKind.SUBMIT, "after")
    assert _ids(queue.process_until(T0)) == ["before", "at"]
    assert queue.process_until(T0) == []
    assert queue.pop_due(T0) is None
    assert len(queue) == 1
    remaining = queue.pop_due(T0 + timedelta(microseconds=1))
    assert remaining is not None and remaining.order_id == "after"


def test_queue_when_iterated_then_due_order_without_consuming() -> None:
    queue = PendingActionQueue()
    queue.add_action(T0 + ms(2), ActionKind.SUBMIT, "late")
    queue.add_action(T0 + ms(1), ActionKind.SUBMIT, "early")
    assert _ids(list(queue)) == ["early", "late"]
    assert len(queue) == 2


def test_queue_when_restored_then_ties_keep_original_order_and_sequence_continues() -> None:
    original = PendingActionQueue()
    original.add_action(T0, ActionKind.SUBMIT, "x")
    original.add_action(T0, ActionKind.CANCEL, "y")
    restored = PendingActionQueue()
    restored.restore(list(reversed(list(original))), original.next_sequence)
    added = restored.add_action(T0, ActionKind.SUBMIT, "z")
    assert added.sequence == 2
    assert _ids(restored.process_until(T0)) == ["x", "y", "z"]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=20), max_size=60), st.integers(min_value=0, max_value=25))
def test_queue_when_random_pushes_then_pops_sorted_with_fifo_ties(offsets: list[int], cut: int) -> None:
    queue = PendingActionQueue()
    for index, offset in enumerate(offsets):
        queue.add_action(T0 + ms(offset), ActionKind.SUBMIT, str(index))
    first = queue.process_until(T0 + ms(cut))
    rest = queue.process_until(T0 + ms(100))
    popped = first + rest
    keys = [(a.due_time, a.sequence) for a in popped]
    assert keys == sorted(keys)
    assert all(a.due_time <= T0 + ms(cut) for a in first)
    assert all(a.due_time > T0 + ms(cut) for a in rest)
    expected = sorted(range(len(offsets)), key=lambda i: (offsets[i], i))
    assert [int(a.order_id) for a in popped] == expected


# A reference model: one sorted list over every action, popped from the front.
_ops = st.lists(
    st.one_of(
        st.tuples(st.just("push"), st.sampled_from(list(ActionKind)), st.integers(min_value=-5, max_value=30)),
        st.tuples(st.just("pop"), st.just(ActionKind.SUBMIT), st.integers(min_value=0, max_value=40)),
        st.tuples(st.just("restore"), st.just(ActionKind.SUBMIT), st.just(0)),
    ),
    max_size=120,
)


@settings(max_examples=300, deadline=None)
@given(_ops)
def test_queue_when_any_mix_of_kinds_pushes_pops_and_restores_then_same_order_as_one_sorted_list(
    ops: list[tuple[str, ActionKind, int]]
) -> None:
    queue = PendingActionQueue()
    model: list[tuple[object, int, str]] = []
    now = 0  # pushes are relative to a clock that only moves forward, as in the simulator
    for step, (op, kind, value) in enumerate(ops):
        if op == "push":
            action = queue.add_action(T0 + ms(now + value), kind, f"a{step}")
            model.append((action.due_time, action.sequence, action.order_id))
        elif op == "pop":
            now = max(now, value)
            model.sort()
            due = [entry for entry in model if entry[0] <= T0 + ms(now)]  # type: ignore[operator]
            del model[:len(due)]
            assert [(a.due_time, a.sequence, a.order_id) for a in queue.process_until(T0 + ms(now))] == due
        else:
            restored = PendingActionQueue()
            restored.restore(list(queue), queue.next_sequence)
            queue = restored
        assert len(queue) == len(model)
        assert queue.peek_time() == (min(model)[0] if model else None)
    assert [(a.due_time, a.sequence, a.order_id) for a in queue] == sorted(model)


def test_queue_when_in_order_per_kind_then_lanes_hold_them_and_out_of_order_goes_to_the_heap() -> None:
    queue = PendingActionQueue()
    for i in range(5):
        queue.add_action(T0 + ms(10 * i), ActionKind.SUBMIT, f"s{i}")
    queue.add_action(T0 + ms(5), ActionKind.SUBMIT, "late-but-early")  # earlier than its lane's tail
    queue.add_action(T0 + ms(1), ActionKind.FILL_REPORT, "f")  # its own lane, empty so far
    assert len(queue._heap) == 1  # white box: only the out-of-order action pays the heap
    assert _ids(queue.process_until(T0 + ms(100))) == ["s0", "f", "late-but-early", "s1", "s2", "s3", "s4"]


def test_queue_skip_sequence_consumes_a_number_and_truth_means_not_empty() -> None:
    queue = PendingActionQueue()
    assert not queue
    queue.skip_sequence()
    action = queue.add_action(T0, ActionKind.SUBMIT, "a")
    assert action.sequence == 1 and queue and len(queue) == 1
    assert queue.pop_due(T0) is action and not queue
