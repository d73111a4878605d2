"""The one environment parser (overworld/env.py): django-environ with the project's rules."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from overworld.env import Env


@pytest.fixture
def env() -> Env:
    return Env()


@pytest.mark.parametrize("blank", ["", " ", "\t \n"])
def test_env_blank_value_counts_as_unset_for_every_accessor(env, monkeypatch, blank):
    monkeypatch.setenv("OW_TEST_VALUE", blank)

    assert env.str("OW_TEST_VALUE", default="fallback") == "fallback"
    assert env.bool("OW_TEST_VALUE", default=True) is True
    assert env.int("OW_TEST_VALUE", default=7) == 7
    assert env.float("OW_TEST_VALUE", default=0.5) == 0.5
    assert env.list("OW_TEST_VALUE", default=["a", "b"]) == ["a", "b"]


def test_env_unset_without_default_names_the_variable(env, monkeypatch):
    monkeypatch.delenv("OW_TEST_VALUE", raising=False)

    with pytest.raises(ImproperlyConfigured, match="^Set the OW_TEST_VALUE environment variable$"):
        env.str("OW_TEST_VALUE")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1", True),
        ("true", True),
        ("YES", True),
        (" on ", True),
        ("0", False),
        ("no", False),
        ("off", False),
        ("false", False),
        ("maybe", False),
    ],
)
def test_env_bool_reads_the_documented_spellings(env, monkeypatch, value, expected):
    monkeypatch.setenv("OW_TEST_VALUE", value)

    assert env.bool("OW_TEST_VALUE", default=not expected) is expected


def test_env_values_are_stripped_and_typed(env, monkeypatch):
    monkeypatch.setenv("OW_TEST_INT", " 12 ")
    monkeypatch.setenv("OW_TEST_FLOAT", "0.25")
    monkeypatch.setenv("OW_TEST_STR", "  owner \n")

    assert env.int("OW_TEST_INT", default=1) == 12
    assert env.float("OW_TEST_FLOAT", default=1.0) == 0.25
    assert env.str("OW_TEST_STR", default="public") == "owner"


def test_env_list_strips_items_and_drops_blank_ones(env, monkeypatch):
    monkeypatch.setenv("OW_TEST_LIST", " api.example.com , ,localhost,")

    assert env.list("OW_TEST_LIST", default=[]) == ["api.example.com", "localhost"]


def test_env_value_starting_with_a_dollar_is_taken_as_written(env, monkeypatch):
    # django-environ would read "$OTHER" as the value of the variable OTHER.
    monkeypatch.setenv("OW_TEST_KEY", "$ecret-key-that-starts-with-a-dollar")

    assert env.str("OW_TEST_KEY", default="") == "$ecret-key-that-starts-with-a-dollar"


def test_env_records_every_name_it_was_asked_for(env, monkeypatch):
    monkeypatch.setenv("OW_TEST_SET", "1")
    monkeypatch.delenv("OW_TEST_UNSET", raising=False)

    env.bool("OW_TEST_SET", default=False)
    env.int("OW_TEST_UNSET", default=3)

    assert env.read == {"OW_TEST_SET", "OW_TEST_UNSET"}


@pytest.mark.parametrize(("value", "expected"), [("5e-1", 0.5), ("1e1", 10.0), (" 2 ", 2.0)])
def test_env_float_reads_a_number_as_python_does(env, monkeypatch, value, expected):
    monkeypatch.setenv("OW_TEST_FLOAT", value)

    assert env.float("OW_TEST_FLOAT", default=1.0) == expected
