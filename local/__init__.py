"""The local runtime: a Docker-free stand-in for ``sam local start-api`` that serves template.yaml's
routes with the real handlers, in process, over an embedded or given PostgreSQL."""
