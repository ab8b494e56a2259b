# EAL Sandbox image: slim Python, non-root, port 4010, health-checked.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md openapi.yaml ./
COPY sandbox ./sandbox
COPY scenarios ./scenarios
RUN pip install . && useradd --create-home --uid 10001 sandbox && rm -rf /src

USER sandbox
WORKDIR /home/sandbox
EXPOSE 4010
HEALTHCHECK --interval=5s --timeout=3s --start-period=20s --retries=5 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:4010/api/v1/health', timeout=2).status == 200 else 1)"
CMD ["eal-sandbox", "serve", "--host", "0.0.0.0", "--port", "4010"]
