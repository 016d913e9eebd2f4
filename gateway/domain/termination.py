"""When a contract can end (résiliation), by French rules; pure, no I/O.

* Already terminated: refused. An affiliate's membership to a collective contract: refused (the
  company terminates it). Savings and retirement contracts are not terminated online (RESIL
  applies to santé, prévoyance and IARD only, as the CRM catalogue says).
* Not among the contract's online acts (policy admin's `ACTES` holds no `RESIL` for it, or the
  CRM catalogue's `RESIL` does not list its family): refused, `NOT_OFFERED`.
* Résiliation infra-annuelle (loi Hamon): a santé or IARD contract held by an individual for more
  than a year ends one month after the request.
* Otherwise at the next anniversary of the effective date with two months' notice (loi Chatel): a
  request within two months of the anniversary aims at the following one.

The preview (`Contract.termination`) and `requestTermination` both answer this one function: the
mutation refuses exactly what the preview refuses, and sends the date the preview gives.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from gateway.domain.records import ContractSummary
from gateway.domain.values import (
    ContractRole,
    ContractStatus,
    Labelled,
    NumberKind,
    ProductFamily,
    months_after,
)

TERMINABLE = (ProductFamily.HEALTH, ProductFamily.PROTECTION, ProductFamily.PROPERTY_CASUALTY)
HAMON = (ProductFamily.HEALTH, ProductFamily.PROPERTY_CASUALTY)


class TerminationRule(Labelled):
    INFRA_ANNUAL = "INFRA_ANNUAL"
    ANNUAL_TERM = "ANNUAL_TERM"


@dataclass(frozen=True, slots=True)
class Termination:
    allowed: bool
    refusal: str | None
    effective_date: date | None
    rule: TerminationRule | None
    code: str | None = None  # a refusal's user error code: NOT_ALLOWED or NOT_OFFERED


def refused(reason: str, code: str = "NOT_ALLOWED") -> Termination:
    return Termination(False, reason, None, None, code)


NOT_OFFERED = "La résiliation de ce contrat ne se fait pas en ligne : contactez votre conseiller."


def termination(
    contract: ContractSummary, by_company: bool, today: date, *, offered: bool
) -> Termination:
    """`offered`: the contract's online acts include `RESIL` (`resolvers/demandes.py`)."""
    if contract.status == ContractStatus.TERMINATED:
        return refused("Ce contrat est déjà résilié.")
    if contract.collective and (
        contract.number_kind == NumberKind.MEMBERSHIP or contract.role == ContractRole.MEMBER
    ):
        return refused(
            "Un contrat collectif est résilié par l'entreprise qui l'a souscrit, pas par un affilié."
        )
    if contract.family not in TERMINABLE:
        return refused(
            "Un contrat d'épargne ou de retraite ne se résilie pas en ligne : contactez votre conseiller."
        )
    if not offered:
        return refused(NOT_OFFERED, "NOT_OFFERED")
    start = contract.effective_date or today
    if not by_company and contract.family in HAMON and months_after(start, 12) <= today:
        return Termination(True, None, months_after(today, 1), TerminationRule.INFRA_ANNUAL)
    years = max(1, today.year - start.year)
    anniversary = months_after(start, 12 * years)
    while months_after(anniversary, -2) < today:  # two months' notice at least
        years += 1
        anniversary = months_after(start, 12 * years)
    return Termination(True, None, anniversary, TerminationRule.ANNUAL_TERM)
