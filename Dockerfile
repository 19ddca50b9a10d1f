# The one image of the scaled mode: Daphne web processes, Celery workers, and the migrate step.
# docker-compose.yml runs it; tests/scaled/test_compose.py checks the two against the settings.

FROM node:20-bookworm-slim AS assets
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY static ./static
RUN npm run build

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
RUN useradd --system --home-dir /app fanout && mkdir -p /srv/static && chown fanout /srv/static
USER fanout
EXPOSE 8000
CMD ["daphne", "-b", "0.0.0.0", "-p", "8000", "playground.asgi:application"]
