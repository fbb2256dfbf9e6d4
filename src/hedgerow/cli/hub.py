"""``hedgerow hub``: run the protection-network hub and talk to one.

Server side (on the hub machine, direct database access)::

    hedgerow hub migrate --db postgresql://hub@/hub
    hedgerow hub token admin --db ...          # first administrator credential
    hedgerow hub tenant add home-1 --role household --db ...
    hedgerow hub token enrol home-1 --db ...   # one-time token for an agent of home-1
    hedgerow hub serve --db ... --port 8750 --workers 2

Client side (any machine)::

    hedgerow hub enrol http://hub:8750 hre_... --name camera-1 --save ~/.hedgerow/hub.json
    hedgerow hub push --credentials ~/.hedgerow/hub.json --spool /var/lib/hedgerow/spool.db
    hedgerow hub blocklist --credentials ~/.hedgerow/hub.json --format text
    hedgerow hub report household --credentials ~/.hedgerow/hub.json
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import click

DEFAULT_PORT = 8750


def _db_option(f: Any) -> Any:
    return click.option("--db", "db", envvar="HEDGEROW_HUB_DATABASE_URL",
                        default="sqlite:///hedgerow-hub.db", show_default=True,
                        help="database URL (sqlite:///file.db or postgresql://user@host/db)")(f)


def _client_options(f: Any) -> Any:
    f = click.option("--credentials", type=click.Path(dir_okay=False, path_type=Path),
                     help="JSON file written by `hedgerow hub enrol --save`")(f)
    f = click.option("--token", envvar="HEDGEROW_HUB_TOKEN", help="bearer token")(f)
    f = click.option("--hub", "hub_url", envvar="HEDGEROW_HUB_URL", help="hub base URL")(f)
    return f


def _client(hub_url: str | None, token: str | None, credentials: Path | None) -> Any:
    from hedgerow.telemetry.client import HubClient, HubError, client_from_file

    if credentials is not None:
        try:
            saved = client_from_file(credentials)
        except HubError as exc:
            raise click.ClickException(str(exc)) from None
        hub_url, token = hub_url or saved.url, token or saved.token
    if not hub_url or not token:
        raise click.ClickException("need --hub URL and --token (or --credentials FILE)")
    return HubClient(hub_url, token)


def _sessions(db: str) -> Any:
    from hedgerow.hub.db import make_engine, session_factory

    return session_factory(make_engine(db))


def _describe(exc: BaseException) -> str:
    """One line: the database driver's own message rather than SQLAlchemy's SQL echo."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _hub_errors() -> tuple[type[Exception], ...]:
    from sqlalchemy.exc import SQLAlchemyError

    from hedgerow.telemetry.client import HubError

    return (HubError, SQLAlchemyError, ValueError, OSError)


@click.group("hub")
def hub() -> None:
    """The protection network: enrolment, telemetry, consensus blocklist, reports."""


@hub.command()
@_db_option
def migrate(db: str) -> None:
    """Create or upgrade the hub's database schema (Alembic)."""
    from hedgerow.hub.migrate import current_revision, upgrade

    try:
        upgrade(db)
        click.echo(f"database at revision {current_revision(db)}")
    except _hub_errors() as exc:
        raise click.ClickException(f"migrate {db}: {_describe(exc)}") from None


@hub.command()
@_db_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int)
@click.option("--key", "key_path", envvar="HEDGEROW_HUB_SIGNING_KEY_PATH",
              default="hedgerow-hub-signing.pem", show_default=True,
              help="Ed25519 signing key (created if missing)")
@click.option("--migrate/--no-migrate", "do_migrate", default=True, show_default=True,
              help="upgrade the schema before serving")
def serve(db: str, host: str, port: int, workers: int, key_path: str, do_migrate: bool) -> None:
    """Serve the hub API (OpenAPI at /openapi.json)."""
    import uvicorn

    from hedgerow.hub.migrate import upgrade
    from hedgerow.signing import SigningKey

    try:
        if do_migrate:
            upgrade(db)
        SigningKey.load_or_create(key_path)
    except _hub_errors() as exc:
        raise click.ClickException(f"serve: {_describe(exc)}") from None
    os.environ["HEDGEROW_HUB_DATABASE_URL"] = db
    os.environ["HEDGEROW_HUB_SIGNING_KEY_PATH"] = key_path
    uvicorn.run("hedgerow.hub.asgi:app", factory=True, host=host, port=port, workers=workers,
                log_level="warning", access_log=False, timeout_keep_alive=75)


@hub.group()
def tenant() -> None:
    """Manage tenants directly in the database."""


@tenant.command("add")
@_db_option
@click.argument("name")
@click.option("--role", required=True,
              type=click.Choice(["household", "organisation", "manufacturer", "regulator",
                                 "admin"]))
@click.option("--vendor", "vendors", multiple=True, help="manufacturer: a vendor name")
def tenant_add(db: str, name: str, role: str, vendors: tuple[str, ...]) -> None:
    """Add a tenant and print its id."""
    from hedgerow.hub.tenants import create_tenant

    try:
        with _sessions(db)() as session:
            row = create_tenant(session, name, role, time.time(), list(vendors))
            click.echo(json.dumps({"id": row.id, "name": row.name, "role": row.role}))
    except _hub_errors() as exc:
        raise click.ClickException(f"tenant add {name}: {_describe(exc)}") from None


@hub.group()
def token() -> None:
    """Issue credentials and one-time enrolment tokens (printed once, stored hashed)."""


@token.command("admin")
@_db_option
@click.option("--name", default="admin", show_default=True, help="credential name")
def token_admin(db: str, name: str) -> None:
    """Create an administrator credential (and the admin tenant if needed)."""
    from sqlalchemy import select

    from hedgerow.hub.models import Tenant
    from hedgerow.hub.tenants import create_tenant, issue_credential

    try:
        with _sessions(db)() as session:
            admins = session.scalars(select(Tenant).where(Tenant.role == "admin")).first()
            if admins is None:
                admins = create_tenant(session, "administrators", "admin", time.time())
            _, secret = issue_credential(session, admins.id, name, "user", time.time())
    except _hub_errors() as exc:
        raise click.ClickException(f"token admin: {_describe(exc)}") from None
    click.echo(secret)


@token.command("enrol")
@_db_option
@click.argument("tenant_ref")
@click.option("--ttl", default=7 * 86400.0, show_default=True, type=float, help="seconds")
def token_enrol(db: str, tenant_ref: str, ttl: float) -> None:
    """One-time enrolment token for TENANT_REF (tenant id or name)."""
    from sqlalchemy import select

    from hedgerow.hub.models import Tenant
    from hedgerow.hub.tenants import create_enrolment_token

    try:
        with _sessions(db)() as session:
            query = select(Tenant).where(
                Tenant.id == int(tenant_ref) if tenant_ref.isdigit()
                else Tenant.name == tenant_ref)
            row = session.scalars(query).first()
            if row is None:
                raise click.ClickException(f"tenant {tenant_ref!r} not found")
            secret, _ = create_enrolment_token(session, row.id, ttl, time.time())
    except _hub_errors() as exc:
        raise click.ClickException(f"token enrol {tenant_ref}: {_describe(exc)}") from None
    click.echo(secret)


@hub.command()
@click.argument("hub_url")
@click.argument("enrolment_token")
@click.option("--name", required=True, help="this agent's/gateway's name")
@click.option("--kind", default="agent", show_default=True,
              type=click.Choice(["agent", "gateway", "user"]))
@click.option("--save", type=click.Path(dir_okay=False, path_type=Path),
              help="write {hub, token, tenant_id, credential_id} here (mode 0600)")
def enrol(hub_url: str, enrolment_token: str, name: str, kind: str, save: Path | None) -> None:
    """Exchange a one-time enrolment token for this machine's own credential."""
    from hedgerow.telemetry.client import enrol as do_enrol

    try:
        cred = do_enrol(hub_url, enrolment_token, name, kind)
    except _hub_errors() as exc:
        raise click.ClickException(_describe(exc)) from None
    doc = {"hub": hub_url, "token": cred.token, "tenant_id": cred.tenant_id,
           "credential_id": cred.credential_id}
    if save is None:
        click.echo(json.dumps(doc))
        return
    save.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(save, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(doc, out)
    click.echo(f"enrolled as credential {cred.credential_id} of tenant {cred.tenant_id}; "
               f"saved to {save}")


@hub.command()
@_client_options
@click.option("--spool", "spool_path", required=True,
              type=click.Path(dir_okay=False, path_type=Path))
@click.option("--batch-size", default=500, show_default=True, type=int)
def push(hub_url: str | None, token: str | None, credentials: Path | None, spool_path: Path,
         batch_size: int) -> None:
    """Deliver everything queued in a telemetry spool to the hub."""
    from hedgerow.telemetry.client import HubForwarder
    from hedgerow.telemetry.spool import Spool

    client = _client(hub_url, token, credentials)
    try:
        with Spool(spool_path) as spool:
            result = HubForwarder(spool, client, batch_size=batch_size).drain()
    except _hub_errors() as exc:
        raise click.ClickException(_describe(exc)) from None
    click.echo(json.dumps({"sent": result.sent, "rejected": result.rejected,
                           "remaining": result.remaining, "error": result.error}))
    if result.error:
        raise SystemExit(1)


@hub.command()
@_client_options
@click.argument("kind", type=click.Choice(["household", "manufacturer", "regulator"]))
@click.option("--tenant", "tenant_id", type=int, help="tenant id (default: your own)")
def report(hub_url: str | None, token: str | None, credentials: Path | None, kind: str,
           tenant_id: int | None) -> None:
    """Fetch a report as JSON."""
    client = _client(hub_url, token, credentials)
    try:
        if kind != "regulator" and tenant_id is None:
            tenant_id = int(client.request("GET", "/v1/me")["tenant_id"])
        click.echo(json.dumps(client.report(kind, tenant_id), indent=2))
    except _hub_errors() as exc:
        raise click.ClickException(_describe(exc)) from None


@hub.command()
@_client_options
@click.option("--format", "fmt", default="json", show_default=True,
              type=click.Choice(["json", "text", "stix"]))
def blocklist(hub_url: str | None, token: str | None, credentials: Path | None,
              fmt: str) -> None:
    """Fetch the community blocklist."""
    client = _client(hub_url, token, credentials)
    try:
        result = client.blocklist(fmt)
    except _hub_errors() as exc:
        raise click.ClickException(_describe(exc)) from None
    click.echo(result if isinstance(result, str) else json.dumps(result, indent=2), nl=False)
    if not isinstance(result, str):
        click.echo()


@hub.command()
@_db_option
@click.option("--window", default=86400.0, show_default=True, type=float)
def prune(db: str, window: float) -> None:
    """Delete expired blocklist entries and sightings older than the consensus window."""
    from hedgerow.hub.consensus import ConsensusPolicy
    from hedgerow.hub.consensus import prune as do_prune

    try:
        with _sessions(db)() as session:
            entries, sightings = do_prune(session, ConsensusPolicy(window_s=window), time.time())
    except _hub_errors() as exc:
        raise click.ClickException(_describe(exc)) from None
    click.echo(json.dumps({"expired_entries": entries, "old_sightings": sightings}))


@hub.command()
@_db_option
@click.argument("kind")
@click.argument("content", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--key", "key_path", envvar="HEDGEROW_HUB_SIGNING_KEY_PATH",
              default="hedgerow-hub-signing.pem", show_default=True)
def publish(db: str, kind: str, content: Path, key_path: str) -> None:
    """Sign CONTENT (a JSON or YAML object) as the next KIND bundle (e.g. rules, baseline)."""
    import yaml

    from hedgerow.hub.bundles import publish as do_publish
    from hedgerow.signing import SigningKey

    try:
        data = yaml.safe_load(content.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise click.ClickException(f"{content}: {_describe(exc)}") from None
    if not isinstance(data, dict):
        raise click.ClickException(f"{content}: expected a mapping at the top level")
    try:
        key = SigningKey.load_or_create(key_path)
        with _sessions(db)() as session:
            doc = do_publish(session, key, kind, data, time.time())
    except _hub_errors() as exc:
        raise click.ClickException(_describe(exc)) from None
    click.echo(f"published {kind} v{doc['version']} signed by {doc['signature']['key_id']}")


@hub.command()
@click.argument("bundle", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--public-key", "public_keys", multiple=True, required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="trusted Ed25519 public key (PEM); repeat for several")
def verify(bundle: Path, public_keys: tuple[Path, ...]) -> None:
    """Check a bundle's signature; exit 1 if unsigned, untrusted or tampered."""
    from hedgerow.signing import BundleError, verify_bundle

    try:
        document = json.loads(bundle.read_text())
        verify_bundle(document, [p.read_text() for p in public_keys])
    except (OSError, ValueError) as exc:
        kind = "refused" if isinstance(exc, BundleError) else "unreadable"
        click.echo(f"{bundle}: {kind}: {exc}", err=True)
        raise SystemExit(1) from None
    click.echo(f"{bundle}: valid {document['kind']} v{document['version']}")


@hub.command()
@click.option("--key", "key_path", default="hedgerow-hub-signing.pem", show_default=True)
def keygen(key_path: str) -> None:
    """Create the signing key if missing and print its public key (give this to agents)."""
    from hedgerow.signing import BundleError, SigningKey

    try:
        click.echo(SigningKey.load_or_create(key_path).public_pem(), nl=False)
    except (OSError, BundleError) as exc:
        raise click.ClickException(_describe(exc)) from None


@hub.command()
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="write here instead of standard output (e.g. docs/hub-openapi.json)")
def openapi(output: Path | None) -> None:
    """Print the hub's OpenAPI specification (the same document /openapi.json serves)."""
    from hedgerow.hub.app import openapi_spec

    text = json.dumps(openapi_spec(), indent=2, sort_keys=True) + "\n"
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text)
