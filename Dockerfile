# The project's image: Airflow 3.3.2 on Python 3.11 with the pinned dependencies and the domain package.
# One image for every service of docker-compose.yaml (Airflow components, simulator, stand-ins).
FROM apache/airflow:3.3.2-python3.11

USER root
# libxml2/libxslt for lxml, xmlschema and signxml (MAGDA envelopes and signatures). Nothing for Chromium.
# /opt/proactief holds the project (installed editable, below); /opt/airflow/data seeds the compose volume of
# that name, owned by the airflow user (group 0 may write, as in the base image).
RUN apt-get update \
 && apt-get install -y --no-install-recommends libxml2 libxslt1.1 \
 && apt-get clean && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /opt/proactief /opt/airflow/data \
 && chown -R airflow:0 /opt/proactief /opt/airflow/data \
 && chmod -R g+rwX /opt/proactief /opt/airflow/data
USER airflow

# The pinned set first (its own layer: changes to the code do not reinstall it), Airflow's constraints approach.
COPY --chown=airflow:0 requirements.txt constraints.txt pyproject.toml /opt/proactief/
RUN pip install --no-cache-dir -r /opt/proactief/requirements.txt -c /opt/proactief/constraints.txt

# The `proactief` package (include/) in editable mode: its path entry is /opt/proactief/include, so the
# include/ that docker-compose.yaml mounts there is the code every service runs (the copy makes the image
# work on its own too). --no-deps: the dependencies are the pinned set above.
COPY --chown=airflow:0 include /opt/proactief/include
RUN pip install --no-cache-dir --no-deps -e /opt/proactief

# DAGs and plugins where Airflow looks by default (compose mounts the working tree over them).
COPY --chown=airflow:0 dags /opt/airflow/dags
COPY --chown=airflow:0 plugins /opt/airflow/plugins
COPY --chown=airflow:0 airflow/pools.json /opt/airflow/airflow/pools.json
