# Astro Runtime for Airflow 3.3 (Python 3.11 variant, like the tests). `astro deploy` builds this.
FROM astrocrpublic.azurecr.io/runtime:3.3-2-python-3.11

# The project root (/usr/local/airflow) is on PYTHONPATH in Astro images, so DAGs import
# `include.walkme_sync`. Where WalkMe exports land and where run files/ledger live:
ENV WALKME_SYNC_STORAGE_ROOT=/usr/local/airflow/var/storage
