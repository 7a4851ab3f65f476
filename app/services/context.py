"""What every service call needs: settings, stores, clock, hasher, delivery."""

from __future__ import annotations

from dataclasses import dataclass

from app.config import Settings
from app.delivery import Delivery
from app.domain.clock import Clock
from app.domain.passwords import Hasher
from app.store import Stores


@dataclass
class Context:
    settings: Settings
    stores: Stores
    clock: Clock
    hasher: Hasher
    delivery: Delivery

    def url(self, path: str) -> str:
        """An absolute URL on this server, from ``BASE_URL``."""
        return self.settings.base_url + path
