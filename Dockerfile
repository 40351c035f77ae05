# Astro Runtime 3.3-2 (Airflow 3.3), Python 3.11 variant like the tests. `astro deploy` builds this;
# the runtime's ONBUILD steps install packages.txt and requirements.txt and copy the build context
# (only the product: see .dockerignore). README "Deploy" says what is and is not verified about it.
FROM astrocrpublic.azurecr.io/runtime:3.3-2-python-3.11

# The project root (/usr/local/airflow) is on PYTHONPATH in Astro images, so DAGs import
# `include.walkme_sync`. Run files and the default SQLite ledger live under this root on one
# machine; a multi-worker Deployment sets an s3:// or gs:// root instead (README "Deploy").
ENV WALKME_SYNC_STORAGE_ROOT=/usr/local/airflow/var/storage
