"""Alembic environment of the router's own history: the target is the router's registry
(app/network/tables.py), never SQLModel.metadata (that is the node's)."""
from alembic import context
from sqlalchemy import engine_from_config, pool

from app.network.tables import metadata as target_metadata

config = context.config
VERSION_TABLE = "router_alembic_version"


def _configure(**kw) -> None:
    context.configure(target_metadata=target_metadata, render_as_batch=True, version_table=VERSION_TABLE, **kw)


def run_migrations_offline() -> None:
    _configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is not None:
        _configure(connection=connectable)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = engine_from_config(config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.",
                                poolclass=pool.NullPool)
    with engine.connect() as connection:
        _configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
