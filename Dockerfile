# The one image of the scaled mode: Daphne web processes, Celery workers, and the migrate step.
# docker-compose.yml runs it; tests/scaled/test_compose.py checks the two against the settings.

FROM node:20-bookworm-slim AS assets
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY static ./static
RUN npm run build

# The compiled engine (playground/accel.py): built where gcc is, copied into the slim image. Both
# stages are CPython 3.11 on the same Debian, so the build matches the image's Python; if the
# engine sources copied below differ from those built here, the engine runs interpreted.
FROM python:3.11-bookworm AS engine
WORKDIR /app
COPY requirements.txt requirements-engine.txt ./
RUN pip install --no-cache-dir -r requirements.txt -r requirements-engine.txt
COPY playground ./playground
RUN python -c 'import sys; from playground import accel; sys.exit(accel.main(["build"]))'

FROM python:3.11-slim-bookworm
ENV PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY requirements.txt ./
RUN pip install -r requirements.txt
COPY manage.py ./
COPY playground ./playground
COPY templates ./templates
COPY static ./static
COPY --from=assets /app/static/dist ./static/dist
COPY --from=engine /app/build/mypyc ./build/mypyc
RUN useradd --system --home-dir /app fanout && mkdir -p /srv/static && chown fanout /srv/static
USER fanout
EXPOSE 8000
CMD ["daphne", "-b", "0.0.0.0", "-p", "8000", "playground.asgi:application"]
