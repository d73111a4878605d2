"""Per-row counts for admin changelists, as correlated subqueries.

One `Count(..., distinct=True)` per relation over a JOIN of all of them multiplies the rows
(followers x following x played x ...) before counting; a subquery per column counts each
relation on its own, and the whole page stays one query however many rows it shows.
"""

from django.contrib import admin
from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce


def count_subquery(model, field: str) -> Coalesce:
    """The number of `model` rows whose `field` is the outer row's pk (0 when none)."""
    counted = (
        model.objects.filter(**{field: OuterRef("pk")})
        .order_by()
        .values(field)
        .annotate(count=Count("*"))
        .values("count")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def count_column(name: str, description: str):
    """A changelist column showing the annotation `name`, sortable by it."""

    @admin.display(description=description, ordering=name)
    def column(model_admin, obj) -> int:
        return getattr(obj, name)

    return column
