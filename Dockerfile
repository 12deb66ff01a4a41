# KiVendTout Fraud Desk: one image for the Streamlit app (default command), the detector
# service (`python -m detector run`) and the one-shot jobs (topics, db upgrade, demo).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    KVT_DATA_DIR=/data

# An unprivileged user; /data (datasets, SQLite in embedded mode) is the only writable path.
RUN groupadd --system --gid 10001 kvt \
    && useradd --system --uid 10001 --gid kvt --create-home --home-dir /home/kvt kvt \
    && mkdir -p /data \
    && chown kvt:kvt /data

WORKDIR /app

# Dependencies first, so a source change does not reinstall them.
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt

# The project (see .dockerignore), owned by root and read-only for the app user.
COPY . .

USER 10001:10001

# 8501: Streamlit; 9108: the detector's Prometheus metrics (KVT_METRICS_PORT).
EXPOSE 8501 9108

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4)"]

CMD ["streamlit", "run", "serve.py", "--server.address=0.0.0.0", "--server.port=8501"]
