"""One model row by fixed lookups, its SQL compiled once per database connection.

A request's few by-key reads (its session, its user, the polled run) each cost more in
Django's query compilation (the ORM building the same SQL every time) than in the database.
``PreparedGet`` builds the query with the ORM on a connection's first use, keeps the SQL
and the ORM's column converters on that connection, and afterwards only executes the SQL
with the new values and makes the instance as the ORM does (``Model.from_db``, the same
converters, deferred fields left deferred). The values are adapted with the fields' own
``get_db_prep_value``; on the first use this is checked against the parameters the ORM
compiled, and a query whose parameters differ (a lookup that transforms its value) is
always run through the ORM instead, so nothing here can read a different row than the ORM
would. Queries go through ``connection.cursor()``: counted, logged and wrapped as any other.
"""

from __future__ import annotations

import threading
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, models

__all__ = ["PreparedGet"]

_UNPREPARABLE = object()
_counter = threading.Lock()
_next_id = [0]


class PreparedGet:
    """``model._default_manager.only(*fields).filter(**lookups).first()``, without the ORM's
    compilation after the first time on a connection.

    ``lookups`` name the conditions (``"session_key"``, ``"expire_date__gt"``, attnames for
    foreign keys: ``"team_id"``); ``get`` takes their values in the same order. At most one
    row must match (lookups on unique columns): the first is returned, None if none.
    """

    def __init__(
        self, model: type[models.Model], lookups: tuple[str, ...], fields: tuple[str, ...] = ()
    ) -> None:
        self.model = model
        self.lookups = lookups
        self.fields = fields
        with _counter:
            _next_id[0] += 1
            self._attr = f"_florasite_prepared_{_next_id[0]}"

    def _queryset(self, values: tuple[Any, ...], using: str) -> models.QuerySet:
        queryset = self.model._default_manager.using(using)
        if self.fields:
            queryset = queryset.only(*self.fields)
        # One Q per lookup, in order: filter(**kwargs) would sort them (and their parameters).
        return queryset.filter(
            *(models.Q((lookup, value)) for lookup, value in zip(self.lookups, values, strict=True))
        )

    def _adapt(self, values: tuple[Any, ...], connection: Any) -> tuple[Any, ...]:
        fields = self.__dict__.get("_fields")
        if fields is None:
            fields = self._fields = tuple(self._field(lookup) for lookup in self.lookups)
        return tuple(
            field.get_db_prep_value(value, connection, prepared=False)
            for field, value in zip(fields, values, strict=True)
        )

    def _field(self, lookup: str) -> models.Field:
        """The field whose get_db_prep_value adapts the value of `lookup`."""
        name = lookup.split("__")[0]
        meta = self.model._meta
        field = meta.pk if name == "pk" else meta.get_field(name)
        if isinstance(field, models.ForeignKey):
            field = field.target_field
        return field

    def _prepare(self, values: tuple[Any, ...], connection: Any, using: str) -> Any:
        compiler = self._queryset(values, using)[:1].query.get_compiler(using=using)
        sql, params = compiler.as_sql()
        if tuple(params) != self._adapt(values, connection):
            return _UNPREPARABLE
        klass_info = compiler.klass_info
        select_fields = klass_info["select_fields"]
        start, end = select_fields[0], select_fields[-1] + 1
        init_list = [column[0].target.attname for column in compiler.select[start:end]]
        converters = compiler.get_converters([column[0] for column in compiler.select])
        return sql, start, end, init_list, list(converters.items())

    def get(self, *values: Any, using: str = DEFAULT_DB_ALIAS) -> Any:
        connection = connections[using]
        prepared = connection.__dict__.get(self._attr)
        if prepared is None:
            prepared = self._prepare(values, connection, using)
            connection.__dict__[self._attr] = prepared
        if prepared is _UNPREPARABLE:
            return next(iter(self._queryset(values, using)[:1]), None)
        sql, start, end, init_list, converters = prepared
        with connection.cursor() as cursor:
            cursor.execute(sql, self._adapt(values, connection))
            row = cursor.fetchone()
        if row is None:
            return None
        if converters:
            row = list(row)
            for position, (functions, expression) in converters:
                value = row[position]
                for function in functions:
                    value = function(value, expression, connection)
                row[position] = value
        return self.model.from_db(using, init_list, row[start:end])
