"""The protection-network hub: enrolment, telemetry ingest, consensus blocklist, reports.

Needs the ``hub`` extra (FastAPI, SQLAlchemy, Alembic, psycopg). Start it with
``hedgerow hub migrate`` then ``hedgerow hub serve``; build the app in code with
:func:`hedgerow.hub.app.create_app`.
"""
