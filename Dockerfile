# The local runtime in a container: the same handlers and template, against the compose databases.
FROM python:3.11-slim
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY layers/core/requirements.txt layers/core/requirements.txt
COPY requirements-dev.txt requirements-dev.txt
RUN pip install --no-cache-dir -r requirements-dev.txt
COPY . .
ENV PYTHONPATH=/app/layers/core:/app HOST=0.0.0.0 PORT=3000
EXPOSE 3000
USER 65534
CMD ["python", "-m", "local"]
