"""Labels as the insurers' portals show them, all decided in one table (`gateway/domain/labels.py`)."""

from __future__ import annotations

import inspect

from gateway.domain import accounts, alerts, security, services, termination
from gateway.domain import values as v
from gateway.domain.labels import LABELS


def labelled_enums() -> dict[str, type[v.Labelled]]:
    return {
        name: kind
        for module in (
            v,
            accounts,
            security,
            termination,
            alerts,
            services,
        )  # every module of the domain with coded values
        for name, kind in inspect.getmembers(module, inspect.isclass)
        if issubclass(kind, v.Labelled) and kind is not v.Labelled
    }


def test_the_one_table_labels_every_coded_value_and_nothing_else() -> None:
    enums = labelled_enums()
    assert set(LABELS) == set(enums)
    for name, kind in enums.items():
        assert set(LABELS[name]) == {m.value for m in kind}, name
        assert all(m.label.strip() for m in kind), name


def test_contract_and_affiliate_statuses_read_as_on_the_portals() -> None:
    assert v.ContractStatus.ACTIVE.label == "Actif"
    assert (v.AffiliateStatus.ACTIVE.label, v.AffiliateStatus.LEFT.label) == ("Actif", "Radié")


def test_dossier_statuses_read_as_on_the_portals() -> None:
    assert (v.DossierStatus.OPEN.label, v.DossierStatus.CLOSED.label) == ("En cours", "Clos")


def test_the_guarantee_of_a_dossier_or_reglement_is_the_portals_short_word() -> None:
    assert [
        v.Guarantee.INCAPACITY.label,
        v.Guarantee.INVALIDITY.label,
        v.Guarantee.DEATH.label,
    ] == ["Incapacité", "Invalidité", "Décès"]
