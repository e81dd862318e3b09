"""The explicit list of helpdesk adapters, imported lazily so a missing SDK fails clearly."""

from __future__ import annotations

import importlib
from typing import Any

from adapters.helpdesk.base import HelpdeskAdapter, HelpdeskConfig
from integration.errors import ConfigurationError

__all__ = ["HELPDESKS", "adapter_class", "build_adapter"]

# identifier -> (module, class, the third-party package it needs)
HELPDESKS: dict[str, tuple[str, str, str | None]] = {
    "zendesk": ("adapters.helpdesk.zendesk", "ZendeskAdapter", "zenpy"),
    "freshdesk": ("adapters.helpdesk.freshdesk", "FreshdeskAdapter", None),
    "intercom": ("adapters.helpdesk.intercom", "IntercomAdapter", None),
    "sandbox": ("adapters.helpdesk.sandbox", "SandboxAdapter", None),
}


def adapter_class(identifier: str) -> type[HelpdeskAdapter]:
    """Import and return the adapter class for ``identifier``."""
    try:
        module_name, class_name, package = HELPDESKS[identifier]
    except KeyError as err:
        known = ", ".join(sorted(HELPDESKS))
        raise ConfigurationError(f"unknown helpdesk {identifier!r} (known: {known})") from err
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        if package and err.name and err.name.split(".")[0] == package:
            raise ConfigurationError(
                f"did not enable {identifier}: the {package!r} package is not installed"
            ) from err
        raise
    cls = getattr(module, class_name)
    if not (isinstance(cls, type) and issubclass(cls, HelpdeskAdapter)):
        raise ConfigurationError(f"{module_name}.{class_name} is not a HelpdeskAdapter")
    return cls


def build_adapter(config: HelpdeskConfig, **kwargs: Any) -> HelpdeskAdapter:
    """Construct the adapter for a tenant's helpdesk connection."""
    return adapter_class(config.helpdesk)(config=config, **kwargs)
