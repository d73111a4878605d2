"""core.admin.name_auto_created_model, the one shim over Django's private Options (Django 5.2).

The first test pins the Django behaviour the shim exists for: when it fails, Django names
auto-created through models differently (or lets them be named), and the shim is to be revisited.
"""

import pytest
from django.contrib import admin
from django.db import models
from django.test.utils import isolate_apps

from core.admin import name_auto_created_model
from users.models import GAME_LISTS, Follow, User


def make_shelf() -> type[models.Model]:
    """A model with two ManyToManyFields to one model: two auto-created through models."""

    class Shelf(models.Model):  # noqa: DJ008 (a throwaway model in an isolated registry)
        books = models.ManyToManyField("Book")
        zines = models.ManyToManyField("Book", related_name="+")

    class Book(models.Model):  # noqa: DJ008
        pass

    return Shelf


@isolate_apps("core")
def test_django_names_every_auto_created_through_model_alike():
    Shelf = make_shelf()
    books, zines = Shelf.books.through, Shelf.zines.through

    assert books._meta.auto_created is Shelf
    assert books._meta.verbose_name == zines._meta.verbose_name == "shelf-book relationship"
    assert books._meta.verbose_name_plural == "shelf-book relationships"


@isolate_apps("core")
def test_name_auto_created_model_names_only_that_through_model():
    Shelf = make_shelf()
    name_auto_created_model(Shelf.books.through, "shelved book", "shelved books")

    assert Shelf.books.through._meta.verbose_name == "shelved book"
    assert Shelf.books.through._meta.verbose_name_plural == "shelved books"
    assert Shelf.zines.through._meta.verbose_name == "shelf-book relationship"


def test_name_auto_created_model_refuses_a_declared_model():
    with pytest.raises(TypeError) as excinfo:
        name_auto_created_model(Follow, "follow", "follows")

    assert str(excinfo.value) == "Follow is declared: give it Meta.verbose_name instead."


def test_game_lists_are_named_in_the_admin_registry():
    for name in GAME_LISTS:
        through = User._meta.get_field(name).remote_field.through
        assert admin.site.is_registered(through)
        assert (through._meta.verbose_name, through._meta.verbose_name_plural) == (
            f"{name} entry",
            f"{name} entries",
        )
