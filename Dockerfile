# The project's image: Airflow 3.3.2 on Python 3.11 with the pinned dependencies and the domain package.
FROM apache/airflow:3.3.2-python3.11
USER root
RUN apt-get update && apt-get install -y --no-install-recommends libxml2 libxslt1.1 && rm -rf /var/lib/apt/lists/*
USER airflow
COPY --chown=airflow:root requirements.txt constraints.txt pyproject.toml /opt/proactief/
COPY --chown=airflow:root include /opt/proactief/include
RUN pip install --no-cache-dir -r /opt/proactief/requirements.txt -c /opt/proactief/constraints.txt \
 && pip install --no-cache-dir --no-deps /opt/proactief
