"""The rollout tests' real Telco bundles and local-server starter, reused here."""

from tests.rollout.conftest import start_servers, telco_bundles

__all__ = ["start_servers", "telco_bundles"]
