"""The cluster's backing services, each a private process on 127.0.0.1 and a free port.

PostgreSQL (Airflow's metadata DB, Celery's result backend and the sync ledger), Redis (the Celery
broker), moto's S3 server (report exports, run files, task logs) and the local Salesforce emulator.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.distributed.processes import (
    ManagedProcess,
    StartupError,
    free_port,
    port_open,
    start_process,
    user_switch,
    wait_until,
)

ROOT = Path(__file__).resolve().parents[2]
POSTGRES_USER = "postgres"  # the OS user the Debian package creates; Postgres refuses root
DB_ROLE = "airflow"
METADATA_DB = "airflow"
LEDGER_DB = "walkme_ledger"
BUCKETS = ("walkme-runs", "walkme-reports", "walkme-logs")
S3_REGION = "us-east-1"
S3_KEYS = ("testing", "testing")  # moto accepts any keys; these are not secrets


def postgres_bin_dir() -> Path:
    """The newest /usr/lib/postgresql/<version>/bin with the server binaries (any version)."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda path: [int(part) for part in path.parent.name.split(".") if part.isdigit()],
        reverse=True,
    )
    for candidate in candidates:
        if all((candidate / tool).exists() for tool in ("initdb", "postgres")):
            return candidate
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    raise StartupError("PostgreSQL is not installed: run scripts/distributed/install.sh")


@dataclass
class Postgres:
    process: ManagedProcess
    port: int
    password: str

    def url(self, database: str, driver: str = "postgresql+psycopg2") -> str:
        return f"{driver}://{DB_ROLE}:{self.password}@127.0.0.1:{self.port}/{database}"


def start_postgres(base: Path, env: dict[str, str]) -> Postgres:
    """initdb + postgres (as the postgres OS user), then the role and the two databases."""
    data, run = base / "data", base / "run"
    for folder in (base, run):
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        _give_to_postgres(folder)
    superuser_password, password = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    bin_dir = postgres_bin_dir()
    _initdb(bin_dir, base, data, superuser_password, env)
    port = free_port()
    process = start_process(
        "postgres",
        [
            str(bin_dir / "postgres"),
            *("-D", str(data), "-p", str(port)),
            *("-k", str(run)),  # unix socket in the temp dir, not /var/run/postgresql
            *("-c", "listen_addresses=127.0.0.1"),
            # 5 Airflow components, Celery's result backends, the ledger's writers: more than 100.
            *("-c", "max_connections=300"),
            *("-c", "fsync=off", "-c", "synchronous_commit=off"),  # throw-away data
        ],
        env=env,
        cwd=base,
        log_path=base / "postgres.log",
        stop_signal=signal.SIGINT,  # "fast" shutdown: SIGTERM would wait for clients to leave
        run_as=POSTGRES_USER,
    )
    superuser_url = f"postgresql://{POSTGRES_USER}:{superuser_password}@127.0.0.1:{port}/postgres"
    wait_until(lambda: _can_connect(superuser_url), timeout=60, what="PostgreSQL", watch=[process])
    _create_databases(superuser_url, password)
    return Postgres(process, port, password)


def _initdb(
    bin_dir: Path, base: Path, data: Path, superuser_password: str, env: dict[str, str]
) -> None:
    """A new cluster whose superuser logs in over TCP with a password (SCRAM), never trust."""
    password_file = base / "pwfile"
    password_file.write_text(superuser_password + "\n", encoding="utf-8")
    _give_to_postgres(password_file)
    try:
        _run_as_postgres(
            [
                str(bin_dir / "initdb"),
                f"--pgdata={data}",
                f"--username={POSTGRES_USER}",
                f"--pwfile={password_file}",
                "--auth-local=trust",  # the unix socket sits in a folder only postgres can enter
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--no-sync",  # a throw-away cluster: durability is not the point
            ],
            env,
            log=base / "initdb.log",
        )
    finally:
        password_file.unlink()


def _give_to_postgres(path: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, POSTGRES_USER, POSTGRES_USER)


def _run_as_postgres(command: list[str], env: dict[str, str], log: Path) -> None:
    with log.open("wb") as handle:
        completed = subprocess.run(
            command,
            env=env,
            cwd="/",
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            check=False,
            **user_switch(POSTGRES_USER),
        )
    if completed.returncode != 0:
        raise StartupError(f"{command[0]} failed:\n{log.read_text(errors='replace')}")


def _can_connect(url: str) -> bool:
    import psycopg2

    psycopg2.connect(url, connect_timeout=2).close()
    return True


def _create_databases(superuser_url: str, password: str) -> None:
    import psycopg2
    from psycopg2 import sql

    connection = psycopg2.connect(superuser_url)
    connection.autocommit = True  # CREATE DATABASE cannot run in a transaction
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD %s").format(sql.Identifier(DB_ROLE)),
                [password],
            )
            for database in (METADATA_DB, LEDGER_DB):
                cursor.execute(
                    sql.SQL("CREATE DATABASE {} OWNER {}").format(
                        sql.Identifier(database), sql.Identifier(DB_ROLE)
                    )
                )
    finally:
        connection.close()


@dataclass
class Redis:
    process: ManagedProcess
    port: int

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


def start_redis(base: Path, env: dict[str, str]) -> Redis:
    base.mkdir(parents=True, exist_ok=True)
    port = free_port()
    redis_server = shutil.which("redis-server")
    if redis_server is None:
        raise StartupError("redis-server is not installed: run scripts/distributed/install.sh")
    process = start_process(
        "redis",
        [
            redis_server,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(base),
        ],
        env=env,
        cwd=base,
        log_path=base / "redis.log",
    )
    wait_until(lambda: _redis_pings(port), timeout=30, what="Redis", watch=[process])
    return Redis(process, port)


def _redis_pings(port: int) -> bool:
    import redis

    return bool(redis.Redis(host="127.0.0.1", port=port, socket_timeout=2).ping())


@dataclass
class S3:
    process: ManagedProcess
    port: int

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=S3_KEYS[0],
            aws_secret_access_key=S3_KEYS[1],
            region_name=S3_REGION,
        )


def start_s3(base: Path, env: dict[str, str]) -> S3:
    """moto's S3 server, with the buckets the product and Airflow's task logs use."""
    base.mkdir(parents=True, exist_ok=True)
    port = free_port()
    process = start_process(
        "moto",
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        cwd=base,
        log_path=base / "moto.log",
    )
    wait_until(lambda: port_open(port), timeout=60, what="moto S3 server", watch=[process])
    s3 = S3(process, port)
    client = s3.client()
    for bucket in BUCKETS:
        client.create_bucket(Bucket=bucket)
    return s3


@dataclass
class Emulator:
    process: ManagedProcess
    info: dict[str, Any]

    @property
    def proxy_url(self) -> str:
        return str(self.info["proxy_url"])

    @property
    def admin_url(self) -> str:
        return str(self.info["admin_url"])

    @property
    def trust_bundle(self) -> str:
        return str(self.info["trust_bundle"])


def start_emulator(base: Path, env: dict[str, str]) -> Emulator:
    """`python -m sf_emulator` seeded with the demo CRM; line 1 of its stdout says where it is."""
    base.mkdir(parents=True, exist_ok=True)
    out = base / "emulator.out"
    process = start_process(
        "sf_emulator",
        [
            sys.executable,
            "-m",
            "sf_emulator",
            "--port",
            str(free_port()),
            "--data-dir",
            str(base / "data"),
            "--seed-file",
            str(ROOT / "demo/samples/crm/seed.json"),
        ],
        env=env,
        cwd=ROOT,
        log_path=base / "emulator.log",
        stdout_path=out,
    )
    wait_until(
        lambda: out.read_text(encoding="utf-8").endswith("\n"),
        timeout=60,
        what="the Salesforce emulator",
        watch=[process],
    )
    info = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    return Emulator(process, info)
