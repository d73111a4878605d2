"""The framework interfaces this project uses that are not public, each in one small function.

Each names the version it was written against; core/tests/test_compat.py fails when that
version's behaviour changes, so an upgrade is checked here rather than discovered in the admin.
"""

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.deletion import Collector


def planned_deletion(objs, using: str) -> tuple[dict, dict]:
    """(rows deleted per model, the objects fetched per model) when `objs` (a queryset) go.

    Django 5.2's `Collector` (django.db.models.deletion, undocumented) is how Django itself
    plans a deletion and the admin's confirmation page (NestedObjects) lists it; nothing public
    says what a deletion will take with it. Rows that Django deletes by one query without
    fetching them ("fast deletes": no further cascades, no signals) are counted with COUNT(*).
    Raises ProtectedError or RestrictedError as the deletion would.
    """
    collector = Collector(using=using, origin=objs)
    collector.collect(objs)
    counts: dict = {}
    for model, instances in collector.data.items():
        counts[model] = counts.get(model, 0) + len(instances)
    for queryset in collector.fast_deletes:
        counts[queryset.model] = counts.get(queryset.model, 0) + queryset.count()
    return counts, dict(collector.data)


def errors_occurred(conn: BaseDatabaseWrapper) -> bool:
    """Whether a database error went through `conn` since Django last checked it.

    Django 5.2's DatabaseErrorWrapper sets `errors_occurred` (undocumented) on every error but a
    DataError or an IntegrityError, and `close_if_unusable_or_obsolete()` clears it at the end
    of a request; it is how Django itself decides whether a connection must be health-checked.
    """
    return conn.errors_occurred


def in_atomic_block(conn: BaseDatabaseWrapper) -> bool:
    """Whether `conn` is inside `transaction.atomic()` (Django 5.2, undocumented attribute)."""
    return conn.in_atomic_block
