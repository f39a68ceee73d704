# Same steps as `make run`: install the package into a virtualenv, then `nicepick serve`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PATH="/app/.venv/bin:$PATH" \
    NICEPICK_CONTENT_DIR=/app/content \
    NICEPICK_DATA_DIR=/app/var

WORKDIR /app
RUN useradd --create-home --uid 10001 nicepick

COPY pyproject.toml README.md ./
COPY app ./app
COPY templates ./templates
COPY static ./static
RUN python -m venv .venv && .venv/bin/pip install --upgrade pip && .venv/bin/pip install .

COPY content ./content
RUN mkdir -p /app/var && chown nicepick:nicepick /app/var

USER nicepick
EXPOSE 8000
VOLUME ["/app/var"]
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"

CMD ["nicepick", "serve", "--host", "0.0.0.0", "--port", "8000"]
