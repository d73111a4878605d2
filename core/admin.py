"""Admin building blocks whose cost does not grow with the tables (issue 12, docs/operations.md).

- `EstimatedCountPaginator`: an unfiltered changelist of a big PostgreSQL table shows the
  planner's row estimate instead of running COUNT(*) over every row on every page.
- `BoundedDeleteMixin`: the delete confirmation page counts the related rows a deletion takes
  with it instead of fetching and listing each one (a celebrity has a million follows).
- `selected_filter`: a sidebar filter for a foreign key that shows only the object the list is
  filtered to (a dropdown of every user would be a million options).
"""

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import quote
from django.core.paginator import Paginator
from django.db import connections, router
from django.db.models import ProtectedError, RestrictedError
from django.urls import NoReverseMatch, reverse
from django.utils.formats import number_format
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.text import capfirst

from core.compat import planned_deletion

# Below this many rows an exact count is cheap, and small tables' estimates are the least
# reliable (a table never analysed reports -1).
EXACT_COUNT_BELOW = 100_000

# How many of the objects being deleted the confirmation page names one by one.
DELETE_LISTED = 20


class EstimatedCountPaginator(Paginator):
    """Counts exactly, except a whole PostgreSQL table of EXACT_COUNT_BELOW rows or more.

    COUNT(*) must visit every row (PostgreSQL keeps no row count); pg_class.reltuples is what
    VACUUM/ANALYZE (and autovacuum, after ~10% of the rows change) last saw. A filtered list is
    counted exactly: its filter is what an admin is checking.
    """

    @cached_property
    def count(self):
        queryset = self.object_list
        query = getattr(queryset, "query", None)
        if query is None or query.where or query.distinct or query.combinator:
            return super().count
        connection = connections[queryset.db]
        if connection.vendor != "postgresql":
            return super().count
        # One statement either way (a changelist's query count stays what it was): the
        # estimate, or for a small table the exact count, which PostgreSQL only runs when the
        # CASE reaches it (an uncorrelated subquery is evaluated on first use).
        table = connection.ops.quote_name(queryset.model._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT CASE WHEN reltuples >= %s THEN reltuples::bigint"
                f" ELSE (SELECT COUNT(*) FROM {table}) END"
                " FROM pg_class WHERE oid = to_regclass(%s)",
                [EXACT_COUNT_BELOW, table],
            )
            row = cursor.fetchone()
        return int(row[0]) if row else super().count


class ScaledAdminMixin:
    """Changelists for tables of millions: estimated unfiltered count, no second total count."""

    paginator = EstimatedCountPaginator
    # Otherwise a filtered page also counts the whole table ("5 results (1,000,000 total)").
    show_full_result_count = False


class BoundedDeleteMixin:
    """A delete confirmation page that counts related rows instead of listing them.

    Django's page collects every object the deletion cascades to, one Python object each, and
    lists them all: a user with 100k followers is a 100k-line page. Here the cascade is planned
    the way the deletion itself runs it (core.compat.planned_deletion: rows without further
    cascades or signals are deleted by one query each, "fast deletes"), and those are counted
    with COUNT(*). At most DELETE_LISTED of the objects being deleted are named.
    """

    def get_deleted_objects(self, objs, request):
        try:
            counts, fetched = planned_deletion(objs, using=router.db_for_write(self.model))
        except (ProtectedError, RestrictedError) as error:
            blocking = getattr(error, "protected_objects", None) or error.restricted_objects
            protected = [self._describe(request, obj) for obj in list(blocking)[:DELETE_LISTED]]
            return [], {}, set(), protected

        perms_needed = set()
        for model, count in counts.items():
            if not count or not self.admin_site.is_registered(model):
                continue
            if not self.admin_site.get_model_admin(model).has_delete_permission(request):
                perms_needed.add(model._meta.verbose_name)

        deleted_here = fetched.get(self.model)
        if deleted_here:
            listed = sorted(deleted_here, key=lambda obj: obj.pk)[:DELETE_LISTED]
        else:  # deleted by one query, never fetched (Follow rows)
            listed = list(objs[:DELETE_LISTED])
        to_delete = [self._describe(request, obj) for obj in listed]
        own_count = counts.get(self.model, len(listed))
        if own_count > len(listed):
            to_delete.append(
                f"… and {number_format(own_count - len(listed), force_grouping=True)} more"
            )
        related = [
            f"{capfirst(model._meta.verbose_name_plural)}: "
            f"{number_format(count, force_grouping=True)}"
            for model, count in counts.items()
            if model is not self.model and count
        ]
        if related:
            to_delete.append(sorted(related))
        model_count = {
            model._meta.verbose_name_plural: count for model, count in counts.items() if count
        }
        return to_delete, model_count, perms_needed, []

    def _describe(self, request, obj):
        opts = obj._meta
        try:
            url = reverse(
                f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_change",
                args=[quote(obj.pk)],
            )
        except NoReverseMatch:
            return f"{capfirst(opts.verbose_name)}: {obj}"
        return format_html('{}: <a href="{}">{}</a>', capfirst(opts.verbose_name), url, obj)


def selected_filter(field_name: str, title: str, label_field: str):
    """A list filter on `field_name` (a foreign key) by id, `?<field>__id__exact=<id>`.

    It offers no choices of its own (they would be every row of the target table); it shows the
    one object the list is filtered to, named by `label_field`, with "All" to clear it. Links
    elsewhere in the admin (a user's follower count) lead to it.
    """

    class SelectedObjectFilter(admin.SimpleListFilter):
        parameter_name = f"{field_name}__id__exact"

        def lookups(self, request, model_admin):
            pk = self._pk()
            if pk is None:
                return []
            target = model_admin.model._meta.get_field(field_name).related_model
            return [
                (str(row_pk), label)
                for row_pk, label in target._default_manager.filter(pk=pk).values_list(
                    "pk", label_field
                )
            ] or [(str(pk), f"#{pk} (no such row)")]

        def queryset(self, request, queryset):
            pk = self._pk()
            return None if pk is None else queryset.filter(**{f"{field_name}_id": pk})

        def _pk(self) -> int | None:
            value = self.value()
            if not value:
                return None
            try:
                pk = int(value)
            except ValueError as error:
                raise IncorrectLookupParameters(error) from error
            if not -(2**63) <= pk < 2**63:
                # No id is that big, and SQLite's driver would raise OverflowError (a 500).
                raise IncorrectLookupParameters(f"{value} is out of range")
            return pk

    SelectedObjectFilter.title = title
    SelectedObjectFilter.__name__ = f"{field_name.title()}Filter"
    return SelectedObjectFilter


def name_auto_created_model(model, verbose_name: str, verbose_name_plural: str) -> None:
    """Give a ManyToManyField's auto-created through model a name of its own in the admin.

    The one private interface here (Django 5.2): Django names every auto-created through model
    "<from>-<to> relationship" (`create_many_to_many_intermediary_model` in
    django/db/models/fields/related.py) and offers no option to change it, so this writes the two
    `Options` attributes the admin reads (index, breadcrumbs, titles, messages, delete counts).

    The public way, an explicit through model, was weighed and refused: for a through model that
    is not auto-created, Django 5.2's `add()` (`ManyRelatedManager._get_add_plan`) no longer
    inserts with conflicts ignored but reads the missing ids first, then inserts: one more query
    per add, and an IntegrityError when two adds of the same game race. A display name is not
    worth that. core/tests/test_admin_names.py fails when Django's naming changes.
    """
    if not model._meta.auto_created:
        raise TypeError(f"{model.__name__} is declared: give it Meta.verbose_name instead.")
    model._meta.verbose_name = verbose_name
    model._meta.verbose_name_plural = verbose_name_plural
