"""The load mix of bench/bench_load.py, for locust against a running platform:

    LOAD_TOKEN=<bearer token> .venv/bin/locust -f bench/locustfile.py --headless -u 50 -r 10 -t 60s \
        -H http://127.0.0.1:<port>

Each user creates its own api trigger, then creates triggers (api and scheduled), lists and reads
them, fires its api trigger, lists logs and reads the log aggregate, in the weights below, waiting
0.5-1.5 s between requests. Any answer that is not 2xx counts as a failure.
"""

import os
import random
from typing import Any

from locust import FastHttpUser, between, task

HEADERS = {"Authorization": f"Bearer {os.environ.get('LOAD_TOKEN', '')}", "Content-Type": "application/json"}
API_TRIGGER = {"type": "api", "payload": {"key": "value"}}
SCHEDULED_TRIGGER = {"type": "scheduled", "schedule": {"interval": 30, "unit": "minutes", "is_recurring": False}}
FIRE_BODY = {"key": "other"}
#: How many of the ids it created a user keeps to read back (the newest).
KEEP_IDS = 200


class PlatformUser(FastHttpUser):
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        self.trigger_ids: list[str] = []
        self.api_trigger_id = self._create(API_TRIGGER)

    def _request(self, method: str, path: str, name: str, body: Any = None) -> Any:
        """The decoded JSON answer, or None when it failed (anything but a 2xx with JSON)."""
        with self.client.request(method, path, name=name, headers=HEADERS, json=body, catch_response=True) as response:
            if not 200 <= (response.status_code or 0) < 300:
                response.failure(f"HTTP {response.status_code}: {(response.text or str(response.error))[:200]}")
                return None
            try:
                return response.json()
            except ValueError:
                response.failure(f"HTTP {response.status_code} without a JSON body")
                return None

    def _create(self, definition: dict[str, Any]) -> str | None:
        created = self._request("POST", "/triggers", "POST /triggers", definition)
        if not created:
            return None
        self.trigger_ids = [*self.trigger_ids[-KEEP_IDS + 1 :], created["id"]]
        return str(created["id"])

    @task(1)
    def create_api_trigger(self) -> None:
        self._create(API_TRIGGER)

    @task(1)
    def create_scheduled_trigger(self) -> None:
        self._create(SCHEDULED_TRIGGER)

    @task(3)
    def list_triggers(self) -> None:
        self._request("GET", "/triggers?limit=50", "GET /triggers?limit=50")

    @task(4)
    def get_trigger(self) -> None:
        if self.trigger_ids:
            self._request("GET", f"/triggers/{random.choice(self.trigger_ids)}", "GET /triggers/{id}")

    @task(3)
    def fire(self) -> None:
        if self.api_trigger_id is None:  # its creation failed (counted): try again
            self.api_trigger_id = self._create(API_TRIGGER)
        else:
            self._request("POST", f"/triggers/{self.api_trigger_id}/fire", "POST /triggers/{id}/fire", FIRE_BODY)

    @task(4)
    def list_logs(self) -> None:
        self._request("GET", "/logs", "GET /logs")

    @task(2)
    def aggregate_logs(self) -> None:
        self._request("GET", "/logs/aggregate", "GET /logs/aggregate")
