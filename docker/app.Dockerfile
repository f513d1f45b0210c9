# The LMLM-KG app (Streamlit) for docker/compose.yaml, next to the Neo4j service.
#
#   NEO4J_PASSWORD=choose-one docker compose -f docker/compose.yaml up -d --build
#   open http://127.0.0.1:8501
#
# The first start builds the demo (a generated world, its tokenizer, an LMLM and a Standard model:
# a few minutes on a CPU) into the lmlm-home volume, copies the demo's facts into Neo4j when Neo4j
# holds none, and serves the app on that Neo4j store (see docker/app-entrypoint.sh). Later starts
# reuse both. Credentials come from the environment (NEO4J_URI, NEO4J_USER, NEO4J_PASSWORD).
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    LMLM_HOME=/data/lmlm

WORKDIR /opt/lmlm-kg

# torch's CPU wheel first (the app decodes on a CPU; the default wheel brings gigabytes of CUDA),
# then the project with its app and Neo4j extras at the project's pins.
COPY constraints.txt ./
RUN torch_pin="$(grep '^torch==' constraints.txt)" \
 && pip install --index-url https://download.pytorch.org/whl/cpu "$torch_pin"
COPY . .
RUN pip install -c constraints.txt ".[app,neo4j]" \
 && useradd --create-home --uid 1000 lmlm \
 && mkdir -p "$LMLM_HOME" && chown lmlm "$LMLM_HOME"

USER lmlm
VOLUME ["/data/lmlm"]
EXPOSE 8501

# Streamlit's own health endpoint; the slim image has no curl, Python is there.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30m --retries=3 \
  CMD python -c "import urllib.request, sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4).status != 200)"

ENTRYPOINT ["/opt/lmlm-kg/docker/app-entrypoint.sh"]
