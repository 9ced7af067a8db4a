"""Reading /metrics as Prometheus does: its text parsed by prometheus-client's own parser."""

from __future__ import annotations

from dataclasses import dataclass

from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

TOKEN = "tally-metrics-test-token-5f0c9a1e7b"


@dataclass(frozen=True)
class Scrape:
    """Every sample of one scrape, by name and labels."""

    samples: dict[tuple[str, frozenset[tuple[str, str]]], float]

    @classmethod
    def parse(cls, text: str) -> Scrape:
        samples = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
        return cls(samples)

    def find(self, name: str, **labels: str) -> float | None:
        return self.samples.get((name, frozenset(labels.items())))

    def value(self, name: str, **labels: str) -> float:
        """A sample that must be there."""
        found = self.find(name, **labels)
        assert found is not None, f"no sample {name} {labels}"
        return found

    def count(self, name: str, **labels: str) -> float:
        """A counter's (or a histogram's _count) value, 0 before anything was counted."""
        return self.find(name, **labels) or 0.0

    def labels_of(self, name: str) -> list[dict[str, str]]:
        return [dict(labels) for sample_name, labels in self.samples if sample_name == name]


def scrape(client: Client | None = None, *, token: str = TOKEN) -> Scrape:
    response = (client or Client()).get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.content[:500]
    return Scrape.parse(response.content.decode())
