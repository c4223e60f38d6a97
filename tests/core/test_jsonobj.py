"""The one "a JSON object or nothing" helper that PNG readers and the history rows share."""

from __future__ import annotations

from typing import Any

import pytest

from zit_desktop.core.jsonobj import json_object, object_or_empty


def test_an_object_comes_back_as_a_dict() -> None:
    assert json_object('{"seed": 7, "prompt": "一只猫", "nested": {"a": [1, 2]}}') == {
        "seed": 7, "prompt": "一只猫", "nested": {"a": [1, 2]}}
    assert json_object("{}") == {}
    assert json_object('  {"a": 1}\n') == {"a": 1}


def test_bytes_are_read_as_utf8_json() -> None:
    assert json_object('{"prompt": "灯塔"}'.encode()) == {"prompt": "灯塔"}
    assert json_object(bytearray(b'{"a": null}')) == {"a": None}
    assert json_object(b'{"a": "\xff"}') is None  # not UTF-8


@pytest.mark.parametrize("text", ["[]", "[1, 2]", '[{"a": 1}]', "null", "true", "5", "1.5", '"{}"'])
def test_json_that_is_not_an_object_gives_none(text: str) -> None:
    assert json_object(text) is None


@pytest.mark.parametrize("text", [None, "", b"", "{", '{"a": 1', "not json", "{'a': 1}", "\x00\x01", "NaN-ish"])
def test_junk_or_nothing_gives_none(text: str | bytes | None) -> None:
    assert json_object(text) is None


def test_nesting_deeper_than_the_parser_gives_none() -> None:
    assert json_object('{"a": ' * 100_000 + "1" + "}" * 100_000) is None
    assert json_object("[" * 100_000 + "]" * 100_000) is None


@pytest.mark.parametrize("value", [5, 1.5, ["{}"], {"a": 1}])
def test_values_that_are_not_text_give_none(value: Any) -> None:
    assert json_object(value) is None  # e.g. a SQLite column that holds a number


def test_object_or_empty_copies_a_dict_and_drops_everything_else() -> None:
    info = {"strategy": "full-gpu"}
    copy = object_or_empty(info)
    assert copy == info and copy is not info
    for other in (None, "{}", '{"a": 1}', [("a", 1)], 3, True):
        assert object_or_empty(other) == {}
