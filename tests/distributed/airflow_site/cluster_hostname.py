"""`[core] hostname_callable` of the distributed test: each worker's name from its environment.

Both Celery workers run on this one machine; a per-process name makes the metadata DB's
task_instance.hostname say which "machine" ran each task.
"""

from __future__ import annotations

import os
import socket

HOSTNAME_VARIABLE = "WALKME_SYNC_CLUSTER_HOSTNAME"


def hostname() -> str:
    return os.environ.get(HOSTNAME_VARIABLE) or socket.getfqdn()
