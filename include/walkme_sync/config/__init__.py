"""Integration configs: typed models, YAML loading and offline validation.

One YAML file per integration in ``dags/integrations/`` (or the folder named by
``WALKME_SYNC_INTEGRATIONS_DIR``). Loading reports EVERY problem of every file at once, each with
the file, the field path (``mappings[2].field``), the YAML line and a hint on how to fix it.

* ``models``: the pydantic models and per-field rules (API names, cron, source kinds);
* ``catalog``, ``names``: the report catalog and Salesforce API-name rules the checks use;
* ``rules``: cross-field checks (report tagged ``integrations_salesforce``, columns exist, no
  mapping writes the key field, each field mapped once, ``WalkMe`` prefix warning);
* ``messages``, ``problems``: pydantic errors reworded as problems with lines and fix hints;
* ``loading``: files -> valid integrations + problems; ``online``: checks against describe.

Imported by ``dags/`` at parse time: pydantic, yaml and the standard library only. The names below
are the package's public interface.
"""

from include.walkme_sync.config.loading import (
    find_integration,
    integrations_folder,
    load_integration,
    load_integrations,
)
from include.walkme_sync.config.models import (
    FileSource,
    IntegrationConfig,
    LookupConfig,
    MappingConfig,
    SqlSource,
    WriteConfig,
)
from include.walkme_sync.config.problems import ConfigProblem, ConfigValidationError, LoadResult

__all__ = [
    "ConfigProblem",
    "ConfigValidationError",
    "FileSource",
    "IntegrationConfig",
    "LoadResult",
    "LookupConfig",
    "MappingConfig",
    "SqlSource",
    "WriteConfig",
    "find_integration",
    "integrations_folder",
    "load_integration",
    "load_integrations",
]
