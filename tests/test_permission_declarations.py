"""Deny by default: every action of every domain declares the capability it needs, and a viewer changes nothing."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import retorno
from retorno.agencies.models import ROLES
from retorno.agencies.permissions import CAPABILITIES, Capability, action

# Modules of the domain layer whose public functions are actions or reads by an official.
DOMAIN_PACKAGES = ("agencies", "cases", "screening", "documents", "verification", "flights", "reintegration",
                   "reporting", "travel", "audit", "inbox", "imports", "demo", "synthetic")


def _domain_modules() -> list[str]:
    names = []
    for package in DOMAIN_PACKAGES:
        module = importlib.import_module(f"retorno.{package}")
        for info in pkgutil.iter_modules(module.__path__):
            if info.name != "views":
                names.append(f"retorno.{package}.{info.name}")
    return names


def _public_functions_taking_an_actor() -> list[tuple[str, object]]:
    found = []
    for name in _domain_modules():
        module = importlib.import_module(name)
        for attr, value in vars(module).items():
            if attr.startswith("_") or not inspect.isfunction(value) or value.__module__ != name:
                continue
            if "actor" in inspect.signature(value).parameters:
                found.append((f"{name}.{attr}", value))
    return found


def test_every_action_declares_its_capability() -> None:
    functions = _public_functions_taking_an_actor()
    assert len(functions) > 60, "the scan found too few actions: is the package list right?"
    undeclared = [name for name, function in functions if getattr(function, "__capability__", None) is None]
    assert undeclared == [], f"actions without a declared capability: {undeclared}"


def test_declared_capabilities_exist() -> None:
    for name, function in _public_functions_taking_an_actor():
        assert function.__capability__ in CAPABILITIES, name


def test_no_capability_that_changes_data_is_open_to_viewers() -> None:
    for name, capability in CAPABILITIES.items():
        assert capability.reads or capability.role != "viewer", name
        assert capability.role in ROLES
    with pytest.raises(ValueError):
        Capability(frozenset({"sending_authority"}), "viewer")


def test_an_action_cannot_declare_a_read_capability() -> None:
    with pytest.raises(ValueError):
        action("case.read")


def test_the_scan_sees_the_whole_package() -> None:
    top = {info.name for info in pkgutil.iter_modules(retorno.__path__) if info.ispkg}
    # Every package with actions is scanned; the rest are entry points, or benchmarks that call actions
    # (one module of which, the Locust file, must not be imported here: Locust patches the standard library).
    assert top - set(DOMAIN_PACKAGES) <= {"web", "cli", "migrations", "benchmarks"}, top
