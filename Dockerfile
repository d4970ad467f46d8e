# losslab on CPU: `docker build -t losslab .` then `docker run -p 8000:8000 losslab`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# torch first, from the CPU index so that no CUDA wheels are downloaded: this layer stays
# cached until the pinned version changes.
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0

# Then the other dependencies, read from pyproject.toml alone: cached until it changes.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# The code last: an edit rebuilds only these layers. Editable, so that the app finds
# templates/ and static/ beside its package, as in a checkout.
COPY README.md ./
COPY losslab ./losslab
COPY templates ./templates
COPY static ./static
COPY locales ./locales
COPY lessons ./lessons
RUN pip install --no-deps --editable . \
    && useradd --create-home --uid 10001 losslab

USER 10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request, sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]
CMD ["losslab", "serve", "--host", "0.0.0.0"]
