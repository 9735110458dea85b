"""Reading model instances on the hot paths without building a queryset each time.

A Django ORM read costs far more CPU than the statement it sends: building the queryset, resolving
lookups and compiling SQL happen again on every call (a primary-key read with a join measured
0.66 ms of CPU against 0.14 ms for the same statement sent through Django's cursor). On the
origination path, which reads the same few rows by key for every application, that is a good part
of the per-application cost (docs/benchmarks.md).

``RowReader`` builds the statement for one model, its forward foreign keys to join (as
``select_related`` would) and the column it looks up by, once per process and database vendor,
then sends it through Django's cursor (so query logging, ``CaptureQueriesContext`` and
``assertNumQueries`` still see it) and builds the instances the way the ORM does: every concrete
field, the backend's and each field's database converters (decryption of PII fields included),
``Model.from_db``, and the joined instances cached on their foreign key. What comes back is
indistinguishable from ``Model.objects.select_related(*related).get(...)``.

Use it for reads by key on paths that run for every application; anything with filters, ordering
or annotations belongs in a queryset.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db import models
from django.db.models import signals
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.query_utils import DeferredAttribute

from .dbvalues import db_value
from .pii import DecryptingAttribute
from .prepared import execute, prepared_text, typed_placeholder

__all__ = ["RowReader", "RowWriter", "RowWriterSaveMixin", "default_connection", "execute", "instance_converters",
           "prepared_text", "save_fields", "typed_placeholder"]


def default_connection():
    """The default connection itself: ``django.db.connection`` is a proxy that looks the
    connection up (a thread-local read) on every attribute read — and a field preparing a value
    reads several — hundreds of times for the rows of one drawdown. The hot paths take it once
    per call and hand it on."""
    return connections[DEFAULT_DB_ALIAS]


_db = default_connection


def instance_converters(field, expression, connection) -> list:
    """The converters of ``field``'s column (as ``expression``) for a value going into a model
    instance: the backend's and the field's, as a queryset applies them — but a field that can
    leave its value sealed until first read (``core.pii.EncryptedTextField``: decryption) does."""
    found = connection.ops.get_db_converters(expression) + expression.get_db_converters(connection)
    sealed = getattr(field, "from_db_value_sealed", None)
    if sealed is not None:
        found = [sealed if converter == field.from_db_value else converter for converter in found]
    return found


@dataclass(frozen=True)
class _Part:
    model: type
    alias: str
    attnames: tuple
    converters: tuple  # (index, [converter, ...], expression) for columns that need converting
    via: object | None  # the foreign key of the parent part that this part fills, None for the root
    parent: int | None  # index of the parent part
    width: int
    pk_index: int
    plain: bool  # instances can be built without __init__ (``_plain``)


# The attributes ``Model.__init__`` sets a column through that only store the value in the
# instance's ``__dict__`` when the instance is new (nothing cached yet).
_STORING_ATTRIBUTES = (DeferredAttribute, ForeignKeyDeferredAttribute, DecryptingAttribute)


def _plain(model, fields) -> bool:
    """Whether ``model.from_db`` with every concrete column is, to the letter, a new instance whose
    ``__dict__`` holds the values: Django's own ``__init__`` and ``from_db``, and each column's
    class attribute one that only stores the value (Django's, or ``core.pii``'s decrypting
    attribute). ``pre_init``/``post_init`` receivers are checked on each read."""
    if model.__init__ is not models.Model.__init__ or model.from_db.__func__ is not models.Model.from_db.__func__:
        return False
    return all(type(getattr(model, field.attname, None)) in _STORING_ATTRIBUTES for field in fields)


class RowReader:
    """``RowReader(Task, related=("process",)).get(pk)`` reads a task and its process in one
    statement. ``by`` names the (indexed) field looked up; ``lock=True`` locks the root row
    (``FOR UPDATE OF`` it alone where the database can, nothing on SQLite, as ``select_for_update``)."""

    def __init__(self, model, *, related: tuple[str, ...] = (), by: str = "pk", lock: bool = False):
        if any(link is not None for link in model._meta.parents.values()):
            raise ValueError(f"{model.__name__} inherits another table: read it with a queryset")
        self.model = model
        self.related = tuple(related)
        self.by = by
        self.lock = lock
        self._compiled: dict[str, tuple[str, tuple[_Part, ...]]] = {}

    # -- compilation (once per vendor) ---------------------------------------------------------------
    def _compile(self):
        connection = _db()
        vendor = connection.vendor
        compiled = self._compiled.get(vendor)
        if compiled is None:
            compiled = self._compiled[vendor] = self._build()
        return compiled

    def _part(self, model, alias: str, via, parent):
        connection = _db()
        fields = model._meta.concrete_fields
        converters = []
        for index, field in enumerate(fields):
            expression = field.get_col(alias)
            found = instance_converters(field, expression, connection)
            if found:
                converters.append((index, tuple(found), expression))
        part = _Part(model=model, alias=alias, attnames=tuple(field.attname for field in fields),
                     converters=tuple(converters), via=via, parent=parent, width=len(fields),
                     pk_index=list(fields).index(model._meta.pk), plain=_plain(model, fields))
        columns = [f"{alias}.{connection.ops.quote_name(field.column)}" for field in fields]
        return part, columns

    def _build(self):
        connection = _db()
        quote = connection.ops.quote_name
        root, columns = self._part(self.model, "t0", None, None)
        parts = [root]
        joins = []
        by_path: dict[str, int] = {"": 0}
        for path in self.related:
            prefix = ""
            for name in path.split("__"):
                key = f"{prefix}__{name}" if prefix else name
                if key not in by_path:
                    parent_index = by_path[prefix]
                    parent = parts[parent_index]
                    field = parent.model._meta.get_field(name)
                    if not (field.many_to_one or field.one_to_one) or not field.concrete:
                        raise ValueError(f"{parent.model.__name__}.{name} is not a forward foreign key")
                    target = field.related_model
                    if any(link is not None for link in target._meta.parents.values()):
                        raise ValueError(f"{target.__name__} inherits another table: read it with a queryset")
                    alias = f"t{len(parts)}"
                    part, more = self._part(target, alias, field, parent_index)
                    joins.append(
                        f"LEFT JOIN {quote(target._meta.db_table)} {alias} ON "
                        f"{alias}.{quote(field.target_field.column)} = {parent.alias}.{quote(field.column)}"
                    )
                    by_path[key] = len(parts)
                    parts.append(part)
                    columns.extend(more)
                prefix = key
        by_field = self.model._meta.pk if self.by == "pk" else self.model._meta.get_field(self.by)
        sql = (f"SELECT {', '.join(columns)} FROM {quote(self.model._meta.db_table)} t0 {' '.join(joins)} "
               f"WHERE t0.{quote(by_field.column)} = %s")
        if self.lock and connection.features.has_select_for_update:
            sql += " FOR UPDATE OF t0" if connection.features.has_select_for_update_of else " FOR UPDATE"
        self._by_field = by_field
        return sql, tuple(parts)

    # -- reading -------------------------------------------------------------------------------------
    def filter(self, value) -> list:
        """Every instance whose ``by`` field equals ``value`` (in the database's order)."""
        connection = _db()
        sql, parts = self._compile()
        value = self._by_field.get_db_prep_value(value, connection, prepared=False)
        with connection.cursor() as cursor:
            execute(cursor, sql, [value])
            rows = cursor.fetchall()
        return [self._instance(parts, row) for row in rows]

    def get(self, value):
        """The instance whose ``by`` field equals ``value``, or None."""
        found = self.filter(value)
        return found[0] if found else None

    @staticmethod
    def _instance(parts, row):
        connection = _db()
        alias = connection.alias
        instances = []
        start = 0
        for part in parts:
            values = list(row[start:start + part.width])
            start += part.width
            for index, converters, expression in part.converters:
                value = values[index]
                for converter in converters:
                    value = converter(value, expression, connection)
                values[index] = value
            parent = instances[part.parent] if part.parent is not None else None
            if part.via is not None and (parent is None or values[part.pk_index] is None):
                instance = None  # no joined row (a null foreign key)
            elif part.plain and not (signals.pre_init.has_listeners(part.model)
                                     or signals.post_init.has_listeners(part.model)):
                # what ``from_db`` builds, without ``__init__``'s setattr per column (see ``_plain``)
                instance = part.model.__new__(part.model)
                instance._state = models.base.ModelState()
                instance._state.adding, instance._state.db = False, alias
                instance.__dict__.update(zip(part.attnames, values))
            else:
                instance = part.model.from_db(alias, part.attnames, values)
            if part.via is not None and parent is not None:
                part.via.set_cached_value(parent, instance)
            instances.append(instance)
        return instances[0]


class RowWriter:
    """Inserts and full-row updates of one model with the statement built once per process, for
    rows written for every application (task rows, state-log entries, decisions).

    The values are prepared exactly as ``Model.save`` prepares them (``pre_save`` — so
    ``auto_now``/``auto_now_add`` apply — then ``get_db_prep_save``). Whenever the fast path would
    differ from ``Model.save`` it is not taken and the ORM writes instead: on databases other than
    PostgreSQL (the embedded SQLite default), when the model has ``pre_save``/``post_save``
    receivers (e.g. a history-tracked model), or when a value is a query expression."""

    def __init__(self, model, *, replaces_save: bool = False):
        if any(link is not None for link in model._meta.parents.values()):
            raise ValueError(f"{model.__name__} inherits another table: save it with the ORM")
        if model.save is not models.Model.save and not replaces_save:
            # Its own save() would be skipped; only the model's save itself may use a writer.
            raise ValueError(f"{model.__name__} overrides save(): save it with the ORM")
        self.model = model
        self._meta = meta = model._meta.concrete_model._meta  # a proxy has no fields of its own
        self._all = [field for field in meta.local_concrete_fields if not getattr(field, "generated", False)]
        self._update_fields = [field for field in self._all if not field.primary_key]
        self._returning = list(meta.db_returning_fields)
        self._sql: dict[tuple, str] = {}

    def fast(self) -> bool:
        """Whether the raw path is taken now (else the caller saves through the ORM)."""
        connection = _db()
        return connection.vendor == "postgresql" and not (
            signals.pre_save.has_listeners(self.model) or signals.post_save.has_listeners(self.model)
        )

    def _insert_sql(self, fields, rows: int) -> str:
        connection = _db()
        key = ("insert", tuple(field.attname for field in fields), rows)
        sql = self._sql.get(key)
        if sql is None:
            quote = connection.ops.quote_name
            placeholders = "(" + ", ".join(["%s"] * len(fields)) + ")"
            sql = (f"INSERT INTO {quote(self._meta.db_table)} "
                   f"({', '.join(quote(field.column) for field in fields)}) "
                   f"VALUES {', '.join([placeholders] * rows)}")
            if self._returning:
                sql += f" RETURNING {', '.join(quote(field.column) for field in self._returning)}"
            self._sql[key] = sql
        return sql

    @staticmethod
    def _values(obj, fields, add: bool) -> list | None:
        connection = _db()
        values = []
        for field in fields:
            value = field.pre_save(obj, add)
            if hasattr(value, "resolve_expression"):
                return None
            values.append(db_value(field, value, connection))
        return values

    def _new_values(self, obj) -> tuple[list, list | None]:
        """The fields of a new row whose key the database gives, and ``obj``'s values of them as
        ``save`` prepares them (None: an expression value, the ORM must write it)."""
        fields = [field for field in self._all if field is not self._meta.auto_field]
        obj._prepare_related_fields_for_save(operation_name="save")
        return fields, self._values(obj, fields, True)

    def insert(self, obj):
        """``obj.save()`` of a new instance (``force_insert``): returns ``obj`` with its primary
        key and any other returned columns set."""
        return self.insert_many([obj])[0]

    def insert_many(self, objs: list) -> list:
        """One multi-row INSERT for ``objs`` (all new instances of this model), as
        ``bulk_create`` would, but also through ``save`` semantics (``pre_save``), returning the
        objects with their primary keys set."""
        connection = _db()
        if not objs:
            return objs
        if not self.fast():
            return self._orm_insert(objs)
        pk = self._meta.pk
        with_pk = [obj for obj in objs if getattr(obj, pk.attname) is not None]
        fields = self._all if with_pk else [field for field in self._all if field is not self._meta.auto_field]
        if with_pk and len(with_pk) != len(objs):
            return [self.insert(obj) for obj in objs]
        params = []
        for obj in objs:
            obj._prepare_related_fields_for_save(operation_name="save")
            values = self._values(obj, fields, True)
            if values is None:
                return self._orm_insert(objs)
            params.extend(values)
        with connection.cursor() as cursor:
            execute(cursor, self._insert_sql(fields, len(objs)), params)
            returned = cursor.fetchall() if self._returning else []
        for obj, row in zip(objs, returned or [()] * len(objs)):
            for field, value in zip(self._returning, row):
                for converter in field.get_db_converters(connection):
                    value = converter(value, field, connection)
                setattr(obj, field.attname, value)
        for obj in objs:
            obj._state.adding = False
            obj._state.db = connection.alias
        return objs

    def insert_and(self, obj, *, then: str, params: list, numbered: tuple | None = None) -> bool:
        """``insert(obj)`` and one more statement in the same round trip: ``then`` is an INSERT that
        reads the new row as ``new`` (e.g. ``INSERT INTO link (a, b) SELECT id, %s FROM new``),
        ``params`` its parameters. ``numbered=(field name, prefix(obj) -> str)``: that field is
        written as the prefix and the new primary key, zero-padded to 8 digits (``f"{prefix}{pk:08d}"``)
        — the key taken from its sequence first, so the row is inserted once, with its number.
        Returns False when the raw path cannot be taken (another database, save receivers, an
        expression value): then nothing was written and the caller saves with the ORM."""
        connection = _db()
        if not self.fast() or not self._returning:
            return False
        pk = self._meta.pk
        if getattr(obj, pk.attname) is not None or (numbered and pk is not self._meta.auto_field):
            return False
        fields, values = self._new_values(obj)
        if values is None:
            return False
        quote = connection.ops.quote_name
        key = ("insert_and", tuple(field.attname for field in fields), then, numbered and numbered[0])
        sql = self._sql.get(key)
        if sql is None:
            returning = ", ".join(quote(field.column) for field in self._returning)
            if numbered:
                number = self._meta.get_field(numbered[0])
                key_text = f"seq.{quote(pk.column)}::text"
                exprs = [f"%s::text || CASE WHEN length({key_text}) < 8 THEN lpad({key_text}, 8, '0') ELSE {key_text} END"
                         if field is number else typed_placeholder(field) for field in fields]
                insert = (f"WITH seq AS (SELECT nextval(pg_get_serial_sequence(%s, %s)) AS {quote(pk.column)}), "
                          f"new AS (INSERT INTO {quote(self._meta.db_table)} "
                          f"({', '.join(quote(field.column) for field in [pk, *fields])}) "
                          f"SELECT seq.{quote(pk.column)}, {', '.join(exprs)} FROM seq RETURNING {returning})")
            else:
                insert = f"WITH new AS ({self._insert_sql(fields, 1)})"
            sql = self._sql[key] = f"{insert}, also AS ({then}) SELECT {returning} FROM new"
        head = []
        if numbered:
            head = [self._meta.db_table, pk.column]
            index = fields.index(self._meta.get_field(numbered[0]))
            values[index] = numbered[1](obj)
        with connection.cursor() as cursor:
            execute(cursor, sql, [*head, *values, *params])
            row = cursor.fetchone()
        for field, value in zip(self._returning, row):
            for converter in field.get_db_converters(connection):
                value = converter(value, field, connection)
            setattr(obj, field.attname, value)
        if numbered:
            setattr(obj, self._meta.get_field(numbered[0]).attname, f"{values[index]}{obj.pk:08d}")
        obj._state.adding = False
        obj._state.db = connection.alias
        return True

    def insert_select(self, obj, *, source: str) -> tuple[str, list] | None:
        """An INSERT of ``obj`` (a new instance, key from the database) as ``INSERT … SELECT … FROM
        source``, for a data-modifying CTE that writes it only when ``source`` returned a row:
        (sql, params), or None when the raw path cannot be taken. The values are prepared as
        ``insert`` prepares them (``pre_save``, so ``auto_now_add`` applies)."""
        connection = _db()
        if not self.fast() or getattr(obj, self._meta.pk.attname) is not None:
            return None
        fields, values = self._new_values(obj)
        if values is None:
            return None
        key = ("insert_select", tuple(field.attname for field in fields), source)
        sql = self._sql.get(key)
        if sql is None:
            quote = connection.ops.quote_name
            sql = self._sql[key] = (f"INSERT INTO {quote(self._meta.db_table)} "
                                    f"({', '.join(quote(field.column) for field in fields)}) "
                                    f"SELECT {', '.join(map(typed_placeholder, fields))} FROM {source}")
        return sql, values

    def update_and(self, obj, *, fields, then: str, params: list) -> bool | None:
        """``update(obj, fields=fields)`` and ``then`` (a statement reading the updated row's key
        as ``new``) in one round trip. True when the row was updated, False when no row has the
        key (then ``then`` wrote nothing either), None when the raw path cannot be taken (nothing
        written: the caller saves with the ORM)."""
        connection = _db()
        if not self.fast():
            return None
        names = tuple(fields)
        chosen = [self._meta.get_field(name) for name in names]
        obj._prepare_related_fields_for_save(operation_name="save")
        values = self._values(obj, chosen, False)
        if values is None:
            return None
        key = ("update_and", names, then)
        sql = self._sql.get(key)
        if sql is None:
            quote = connection.ops.quote_name
            pk_column = quote(self._meta.pk.column)
            sql = self._sql[key] = (
                f"WITH new AS (UPDATE {quote(self._meta.db_table)} SET "
                f"{', '.join(f'{quote(field.column)} = %s' for field in chosen)} "
                f"WHERE {pk_column} = %s RETURNING {pk_column}), also AS ({then}) SELECT 1 FROM new")
        with connection.cursor() as cursor:
            execute(cursor, sql, [*values, self._meta.pk.get_db_prep_value(obj.pk, connection), *params])
            updated = cursor.fetchone() is not None
        if updated:
            obj._state.adding = False
            obj._state.db = connection.alias
        return updated

    def _orm_insert(self, objs: list) -> list:
        if len(objs) == 1:
            # Model.save itself: a model whose own save() uses this writer must not come back here.
            models.Model.save(objs[0], force_insert=True)
            return objs
        return self.model._default_manager.bulk_create(objs)

    def update(self, obj, fields=None) -> bool:
        """``obj.save()`` of a stored instance: every column but the primary key (or only
        ``fields``, as ``save(update_fields=…)``), in one UPDATE. Returns False when no row has
        the primary key (``save`` would then insert, or raise with ``update_fields``: the caller
        decides)."""
        connection = _db()
        if fields is not None:
            names = tuple(fields)
            chosen = [self._meta.get_field(name) for name in names]
        else:
            names, chosen = None, self._update_fields
        if not self.fast():
            models.Model.save(obj, update_fields=names)
            return True
        obj._prepare_related_fields_for_save(operation_name="save")
        values = self._values(obj, chosen, False)
        if values is None:
            models.Model.save(obj, update_fields=names)
            return True
        key = ("update", names)
        sql = self._sql.get(key)
        if sql is None:
            quote = connection.ops.quote_name
            sql = self._sql[key] = (
                f"UPDATE {quote(self._meta.db_table)} SET "
                f"{', '.join(f'{quote(field.column)} = %s' for field in chosen)} "
                f"WHERE {quote(self._meta.pk.column)} = %s"
            )
        with connection.cursor() as cursor:
            execute(cursor, sql, [*values, self._meta.pk.get_db_prep_value(obj.pk, connection)])
            updated = cursor.rowcount > 0
        if updated:
            obj._state.adding = False
            obj._state.db = connection.alias
        return updated


class RowWriterSaveMixin:
    """``save()`` through a ``RowWriter`` for a model saved for every application (viewflow's task
    rows, as the flow's ``task_class`` proxy; the applicant): a plain ``save()`` of a new instance
    is one prebuilt INSERT, of a stored one one prebuilt UPDATE of every column,
    ``save(update_fields=…)`` one prebuilt UPDATE of those columns — what ``Model.save`` would
    send. Anything else (other arguments, deferred columns, another database, model signal
    receivers) goes to the model's own ``save`` unchanged."""

    def save(self, *args, **kwargs):
        cls = type(self)
        writer = cls.__dict__.get("_row_writer")
        if writer is None:
            writer = RowWriter(cls, replaces_save=True)
            cls._row_writer = writer
        if args or set(kwargs) - {"update_fields"} or not writer.fast():
            return super().save(*args, **kwargs)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            if not update_fields:
                return None  # as Model.save: nothing to write
            if not writer.update(self, fields=update_fields):
                raise DatabaseError("Save with update_fields did not affect any rows.")
            return None
        if self._state.adding and self.pk is None:
            writer.insert(self)
        elif self.get_deferred_fields():
            super().save()  # Model.save writes the loaded columns only
        elif not writer.update(self):
            super().save()  # no row with this key (or added with a key): the model's own insert
        return None


_WRITERS: dict[type, RowWriter | None] = {}


def _writer_of(model) -> RowWriter | None:
    try:
        return _WRITERS[model]
    except KeyError:
        try:
            writer = RowWriter(model)
        except ValueError:
            writer = None
        _WRITERS[model] = writer
        return writer


def save_fields_and_insert(obj, fields, new) -> bool:
    """``obj.save(update_fields=fields)`` and ``new.save()`` (a new row of another model, e.g. the
    log entry of the change) in one statement where both are plain prebuilt writes; True when
    done, False when they must be saved one by one (nothing written). Raises as ``save`` does when
    ``obj`` has no row."""
    connection = _db()
    writer, other = _writer_of(type(obj)), _writer_of(type(new))
    if writer is None or other is None:
        return False
    inserted = other.insert_select(new, source="new")
    if inserted is None:
        return False
    updated = writer.update_and(obj, fields=fields, then=inserted[0], params=inserted[1])
    if updated is None:
        return False
    if not updated:
        raise DatabaseError("Save with update_fields did not affect any rows.")
    new._state.adding = False  # written, its key unknown (a log entry nobody reads back)
    new._state.db = connection.alias
    return True


def save_fields(obj, fields) -> None:
    """``obj.save(update_fields=fields)`` of a model that saves plainly, as one UPDATE built once
    per process and field list (the state moves of every application go through here). A model
    with its own ``save`` (or another table above it) is saved by that ``save``, unchanged."""
    model = type(obj)
    try:
        writer = _WRITERS[model]
    except KeyError:
        try:
            writer = RowWriter(model)
        except ValueError:
            writer = None
        _WRITERS[model] = writer
    if writer is None:
        obj.save(update_fields=fields)
    elif not writer.update(obj, fields=fields):
        raise DatabaseError("Save with update_fields did not affect any rows.")

