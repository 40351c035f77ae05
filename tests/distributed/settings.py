"""The environment of every Airflow component: configuration, connections, product settings.

Everything is configured through environment variables (no airflow.cfg edits), the way a container
platform configures Airflow. All components share the same values except where a real second
machine would differ: AIRFLOW_HOME, HOME, TMPDIR, the project's location (worker_b runs its own
copy), and the hostname.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.distributed.processes import MARKER_VARIABLE
from tests.distributed.services import LEDGER_DB, S3_KEYS, S3_REGION

ROOT = Path(__file__).resolve().parents[2]
#: airflow_local_settings.py (the queue policy) and the hostname callable.
SITE_DIR = Path(__file__).resolve().parent / "airflow_site"
ADMIN_USER = "admin"
STORAGE_CONN_ID = "aws_storage"
#: Run files go to object storage: the tasks of one run execute on different workers.
RUNS_BUCKET = "walkme-runs"
STORAGE_ROOT = f"s3://{RUNS_BUCKET}/storage"
LOG_FOLDER = "s3://walkme-logs/airflow"
WORKER_CONCURRENCY = 4
# Settings the outer test session (tests/conftest.py) or the developer's shell may hold; the
# cluster's processes get only what is set here.
_INHERITED_PREFIXES = ("AIRFLOW", "WALKME_SYNC_", "AWS_")
_DROPPED = {"PYTHONPATH", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"}
_PROXIES = {"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"}


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


@dataclass(frozen=True)
class ClusterSecrets:
    """Generated per session, shared by all components, never printed."""

    jwt_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    api_secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    fernet_key: str = field(default_factory=_fernet_key)
    admin_password: str = field(default_factory=lambda: secrets.token_urlsafe(16))


def clean_environment(marker: str) -> dict[str, str]:
    """The parent's environment minus Airflow/product/proxy settings, plus the cluster marker."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(_INHERITED_PREFIXES)
        and key not in _DROPPED
        and key.upper() not in _PROXIES
    }
    env[MARKER_VARIABLE] = marker
    return env


@dataclass(frozen=True)
class Endpoints:
    """Where the services listen, and the files a component needs to know about."""

    metadata_url: str  # postgresql+psycopg2://... of the metadata DB
    ledger_port: int
    ledger_password: str
    broker_url: str
    s3_endpoint: str
    sf_proxy_url: str
    trust_bundle: str
    api_port: int
    integrations_dir: Path
    storage_root: str
    passwords_file: Path


def airflow_config(endpoints: Endpoints, keys: ClusterSecrets) -> dict[str, str]:
    """[section] options as AIRFLOW__SECTION__KEY, the same for every component."""
    api = f"http://127.0.0.1:{endpoints.api_port}"
    metadata = endpoints.metadata_url
    return {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__FERNET_KEY": keys.fernet_key,
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{api}/execution/",
        "AIRFLOW__CORE__HOSTNAME_CALLABLE": "cluster_hostname.hostname",
        "AIRFLOW__CORE__PARALLELISM": "32",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(endpoints.passwords_file),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata,
        "AIRFLOW__CELERY__BROKER_URL": endpoints.broker_url,
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + metadata.replace("+psycopg2", "", 1),
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(WORKER_CONCURRENCY),
        # One task at a time per pool process: prefetching would park tasks behind long ones.
        "AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER": "1",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(endpoints.api_port),
        "AIRFLOW__API__BASE_URL": api,
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API__SECRET_KEY": keys.api_secret_key,
        "AIRFLOW__API_AUTH__JWT_SECRET": keys.jwt_secret,
        "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
        # Two workers on one machine cannot both serve logs on port 8793 (and the log server
        # binds every interface), so task logs go where a real cluster keeps them: object storage.
        "AIRFLOW__LOGGING__REMOTE_LOGGING": "True",
        "AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER": LOG_FOLDER,
        "AIRFLOW__LOGGING__REMOTE_LOG_CONN_ID": STORAGE_CONN_ID,
    }


def connections(endpoints: Endpoints, keys: ClusterSecrets) -> dict[str, str]:
    """AIRFLOW_CONN_* variables (JSON form)."""
    conns: dict[str, dict[str, Any]] = {
        STORAGE_CONN_ID: {
            "conn_type": "aws",
            "login": S3_KEYS[0],
            "password": S3_KEYS[1],
            "extra": {"endpoint_url": endpoints.s3_endpoint, "region_name": S3_REGION},
        },
        "walkme_ledger": {
            "conn_type": "postgres",
            "host": "127.0.0.1",
            "port": endpoints.ledger_port,
            "login": "airflow",
            "password": endpoints.ledger_password,
            "schema": LEDGER_DB,
        },
        # record_run sets each run's note through the REST API with this connection.
        "walkme_airflow_api": {
            "conn_type": "http",
            "host": "127.0.0.1",
            "port": endpoints.api_port,
            "login": ADMIN_USER,
            "password": keys.admin_password,
        },
        **salesforce_connections(endpoints.sf_proxy_url),
    }
    return {f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(conn) for conn_id, conn in conns.items()}


def salesforce_connections(proxy_url: str) -> dict[str, dict[str, Any]]:
    """salesforce_sandbox / salesforce_production exactly as airflow_settings.yaml has them,
    with the proxy pointed at this session's emulator."""
    settings = yaml.safe_load((ROOT / "airflow_settings.yaml").read_text(encoding="utf-8"))
    result: dict[str, dict[str, Any]] = {}
    for conn in settings["airflow"]["connections"]:
        if conn["conn_type"] != "salesforce":
            continue
        extra = dict(conn["conn_extra"])
        extra["proxies"] = {"https": proxy_url}
        result[conn["conn_id"]] = {
            "conn_type": "salesforce",
            "login": conn["conn_login"],
            "password": conn["conn_password"],
            "extra": extra,
        }
    return result


def product_settings(endpoints: Endpoints) -> dict[str, str]:
    return {
        "WALKME_SYNC_INTEGRATIONS_DIR": str(endpoints.integrations_dir),
        "WALKME_SYNC_STORAGE_ROOT": endpoints.storage_root,
        "WALKME_SYNC_STORAGE_CONN_ID": STORAGE_CONN_ID,
        # Workers reach the emulator through its proxy with its own CA, like a corporate proxy.
        "REQUESTS_CA_BUNDLE": endpoints.trust_bundle,
    }


@dataclass(frozen=True)
class Placement:
    """Where one component lives, as if on its own machine."""

    airflow_home: Path
    project: Path  # holds dags/, include/, plugins/
    workdir: Path
    hostname: str


def component_env(
    base: dict[str, str], shared: dict[str, str], placement: Placement
) -> dict[str, str]:
    """One component's full environment: the shared settings plus its own machine."""
    home, tmp = placement.workdir / "home", placement.workdir / "tmp"
    for folder in (placement.airflow_home, home, tmp):
        folder.mkdir(parents=True, exist_ok=True)
    return {
        **base,
        **shared,
        "AIRFLOW_HOME": str(placement.airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(placement.project / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(placement.project / "plugins"),
        "PYTHONPATH": os.pathsep.join([str(placement.project), str(SITE_DIR)]),
        "HOME": str(home),
        "TMPDIR": str(tmp),
        "WALKME_SYNC_CLUSTER_HOSTNAME": placement.hostname,
    }
