"""Tracebacks a notebook user can read: their own frames, the error, and the node it came from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import pocketflow
from pocketflow import Flow, Node
from pocketflow_widgets import LiveRun, Stepper
from pocketflow_widgets.tracebacks import user_traceback

LIBRARY = str(Path(pocketflow.__file__).resolve().parent)


class Broken(Node):
    def exec(self, prep_res: Any) -> None:
        raise ValueError("the sensor is unplugged")


def two_flows_deep() -> Flow:
    inner = Flow(start=Broken(name="broken"), name="inner")
    return Flow(start=inner, name="outer")


def failure_two_flows_deep() -> ValueError:
    try:
        two_flows_deep().run({})
    except ValueError as exc:
        return exc
    raise AssertionError("the run did not fail")


def test_only_the_users_frames_are_shown() -> None:
    text = user_traceback(failure_two_flows_deep())
    assert text.startswith("Traceback (most recent call last):")
    assert 'raise ValueError("the sensor is unplugged")' in text  # the user's exec
    assert "in exec" in text
    assert "two_flows_deep().run({})" in text  # and the user's call
    assert LIBRARY not in text  # no frame from the library's files
    assert "ValueError: the sensor is unplugged" in text


def test_notes_are_printed_once_on_every_python() -> None:
    exc = failure_two_flows_deep()
    exc.__notes__ = ["pocketflow: raised in exec of node 'broken' (in outer > inner)"]
    text = user_traceback(exc)
    assert text.count("raised in exec of node 'broken'") == 1
    assert text.rstrip().endswith("raised in exec of node 'broken' (in outer > inner)")


def test_frames_marked_hidden_are_left_out_wherever_they_are() -> None:
    def helper() -> None:
        __tracebackhide__ = True
        raise KeyError("deep")

    def caller() -> None:
        helper()

    with pytest.raises(KeyError) as info:
        caller()
    text = user_traceback(info.value)
    assert "in caller" in text and "in helper" not in text


def test_chained_exceptions_are_shown_filtered_too() -> None:
    class Fallback(Node):
        def exec(self, prep_res: Any) -> None:
            raise TimeoutError("slow")

        def exec_fallback(self, prep_res: Any, exc: Exception) -> None:
            raise RuntimeError("gave up") from exc

    with pytest.raises(RuntimeError) as info:
        Flow(start=Fallback()).run({})
    text = user_traceback(info.value)
    assert "TimeoutError: slow" in text and "RuntimeError: gave up" in text
    assert "direct cause" in text
    assert "in exec_fallback" in text and "in exec\n" in text
    assert LIBRARY not in text


def test_the_stepper_shows_the_users_traceback() -> None:
    stepper = Stepper(two_flows_deep(), {})
    stepper.continue_()
    assert isinstance(stepper.error, ValueError)
    assert stepper.error_text == user_traceback(stepper.error)
    assert 'raise ValueError("the sensor is unplugged")' in stepper.error_text
    assert "raised in exec of node 'broken'" in stepper.error_text
    assert LIBRARY not in stepper.error_text


def test_the_live_view_shows_the_users_traceback() -> None:
    live = LiveRun(two_flows_deep(), display_widget=False)
    with pytest.raises(ValueError):
        live.run({})
    assert isinstance(live.error, ValueError)
    assert 'raise ValueError("the sensor is unplugged")' in live.error_text
    assert "raised in exec of node 'broken'" in live.error_text
    assert LIBRARY not in live.error_text
