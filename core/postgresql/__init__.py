"""The PostgreSQL backend: Django's own, subclassed (settings ENGINE "core.postgresql").

Django documents subclassing a built-in backend for exactly this kind of change; see base.py.
"""
