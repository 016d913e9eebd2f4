"""Fixture worlds the operation tests run on, and the personas they need, found in the data.

The default world is `fixtures/` (the documented personas). Other worlds are built at test time by
`fixtures/build.py` from a seed and an anchor date into a temporary directory: other identifiers,
names, counts and edges. `WORLD_SEEDS` (comma-separated `seed` or `seed@YYYY-MM-DD`) chooses the
extra worlds; the default is one, `7@2027-03-15`. Tests look personas up by what they hold
(`World.health_family`, …) and derive every expected value from the world's own files.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from mocks.contracts import fixtures_anchor

PARIS = ZoneInfo("Europe/Paris")
DEFAULT_EXTRA = "7@2027-03-15"


def extra_worlds() -> list[tuple[int, date]]:
    worlds = []
    for item in os.environ.get("WORLD_SEEDS", DEFAULT_EXTRA).split(","):
        if not item.strip():
            continue
        seed, _, anchor = item.strip().partition("@")
        worlds.append((int(seed), date.fromisoformat(anchor) if anchor else fixtures_anchor()))
    return worlds


def build_world(directory: Path, seed: int, anchor: date) -> Path:
    from fixtures.build import write_world

    write_world(directory, anchor, seed)
    return directory


def fr_date(value: str) -> date:
    return datetime.strptime(value, "%d/%m/%Y").date()


def paris_day(value: str) -> date:
    return datetime.fromisoformat(value).astimezone(PARIS).date()


@dataclass(frozen=True)
class Persona:
    client: dict[str, Any]

    @property
    def client_id(self) -> str:
        return str(self.client["clientId"])

    @property
    def num_pers(self) -> str:
        return str(self.client["identifiants"]["policyAdmin"])

    @property
    def claims_id(self) -> str | None:
        found: str | None = self.client["identifiants"]["prestations"]
        return found

    @property
    def edq(self) -> str | None:
        found: str | None = self.client["identifiants"]["editique"]
        return found

    @property
    def display_name(self) -> str:
        c = self.client
        if c["type"] == "PM":
            return str(c["raisonSociale"])
        return f"{c['prenom']} {c['nom']}" if c["prenom"] else str(c["nom"])


@dataclass
class World:
    name: str
    directory: Path
    today: date = field(init=False)

    def __post_init__(self) -> None:
        self.today = fixtures_anchor(self.directory)

    def data(self, system: str) -> dict[str, Any]:
        return self._files[system]

    @cached_property
    def _files(self) -> dict[str, dict[str, Any]]:
        return {
            name: json.loads((self.directory / f"{name}.json").read_text("utf-8"))
            for name in ("policy_admin", "claims", "editique", "crm")
        }

    # ---- indexes -----------------------------------------------------------------------------
    @cached_property
    def contracts(self) -> dict[str, dict[str, Any]]:
        return {c["NUM_CTR"]: c for c in self.data("policy_admin")["contrats"]}

    @cached_property
    def persons(self) -> dict[str, dict[str, Any]]:
        return {p["NUM_PERS"]: p for p in self.data("policy_admin")["personnes"]}

    def held(self, persona: Persona) -> list[tuple[dict[str, Any], str]]:
        """(contract, role) the persona holds, in the policy-admin order (NUM_CTR ascending)."""
        found = sorted(self.persons[persona.num_pers]["CONTRATS"], key=lambda h: h["NUM_CTR"])
        return [(self.contracts[h["NUM_CTR"]], h["ROLE"]) for h in found]

    @cached_property
    def personas(self) -> list[Persona]:
        return [Persona(c) for c in self.data("crm")["clients"]]

    def individuals(self) -> list[Persona]:
        return [p for p in self.personas if p.client["type"] == "PP"]

    def companies(self) -> list[Persona]:
        return [p for p in self.personas if p.client["type"] == "PM"]

    def holder_name(self, adhesion: str) -> str:
        """`Prénom NOM` of the member holding an adhésion, as policy admin registers them."""
        for person in self.persons.values():
            if any(h["NUM_CTR"] == adhesion and h["ROLE"] == "AFF" for h in person["CONTRATS"]):
                return f"{person['PRENOM'].rstrip()} {person['NOM'].rstrip()}"
        raise LookupError(adhesion)

    # ---- windows -----------------------------------------------------------------------------
    @property
    def three_years_ago(self) -> date:
        from gateway.domain.values import years_before

        return years_before(self.today, 3)

    def months_ago(self, months: int) -> date:
        from gateway.domain.values import months_before

        return months_before(self.today, months)

    def reglements_where(self, **criteria: str) -> list[dict[str, Any]]:
        """Benefit règlements under 3 years matching `criteria`, in the claims order."""
        found = [
            r
            for r in self.data("claims")["reglements"]
            if all(r[k] == v for k, v in criteria.items())
            and self.three_years_ago <= fr_date(r["dateReglement"]) <= self.today
        ]
        return sorted(
            found, key=lambda r: (-fr_date(r["dateReglement"]).toordinal(), r["refReglement"])
        )

    def remboursements_of(self, claims_id: str) -> list[dict[str, Any]]:
        contracts = set(self.data("claims")["assures"].get(claims_id, []))
        found = [
            r
            for r in self.data("claims")["remboursements"]
            if r["numContrat"] in contracts
            and self.three_years_ago <= fr_date(r["dateReglement"]) <= self.today
        ]
        return sorted(
            found,
            key=lambda r: (-fr_date(r["dateReglement"]).toordinal(), r["refRemboursement"]),
        )

    def documents_of(self, edq: str | None, months: int) -> list[dict[str, Any]]:
        since = self.months_ago(months)
        found = [
            d
            for d in self.data("editique")["documents"]
            if d["idPersonne"] == edq and since <= paris_day(d["dateEmission"]) <= self.today
        ]
        return sorted(
            found,
            key=lambda d: (datetime.fromisoformat(d["dateEmission"]), d["idDocument"]),
            reverse=True,
        )

    def demandes_of(self, client_id: str) -> list[dict[str, Any]]:
        since = self.months_ago(6)
        found = [
            d
            for d in self.data("crm")["demandes"]
            if d["clientId"] == client_id and paris_day(d["dateCreation"]) >= since
        ]
        return sorted(
            found, key=lambda d: (datetime.fromisoformat(d["dateCreation"]), d["id"]), reverse=True
        )

    # ---- personas by what they hold ----------------------------------------------------------
    @cached_property
    def saver(self) -> Persona:
        """An individual holding only savings and retirement contracts, at least one savings."""
        return next(
            p
            for p in self.individuals()
            if (families := {c["CD_FAM"] for c, _ in self.held(p)}) <= {"EPA", "RET"}
            and "EPA" in families
        )

    @cached_property
    def health_family(self) -> Persona:
        """An individual subscribing a santé contract with dependants and reimbursements."""
        return next(
            p
            for p in self.individuals()
            if any(c["CD_FAM"] == "SAN" and c["AYANTS_DROIT"] for c, r in self.held(p))
            and p.claims_id
            and self.remboursements_of(p.claims_id)
        )

    @cached_property
    def member(self) -> Persona:
        """The individual affiliate with the most règlements paid to them under 3 years."""
        candidates = [
            p
            for p in self.individuals()
            if p.claims_id and any(r == "AFF" for _, r in self.held(p))
        ]
        return max(
            candidates,
            key=lambda p: len(self.reglements_where(numAffilie=p.claims_id or "")),
        )

    def collective_contracts(self, company: Persona) -> list[dict[str, Any]]:
        return [c for c, r in self.held(company) if r == "SOUS" and c["COLL"] == "O"]

    @cached_property
    def member_company(self) -> Persona:
        """The company of `member`'s collective contract."""
        adhesion = next(c for c, r in self.held(self.member) if r == "AFF")
        return next(
            p
            for p in self.companies()
            if any(c["NUM_CTR"] == adhesion["NUM_CTR_ENT"] for c in self.collective_contracts(p))
        )

    @cached_property
    def big_company(self) -> Persona:
        """The company with the most collective contracts."""
        return max(self.companies(), key=lambda p: len(self.collective_contracts(p)))

    @cached_property
    def unreachable(self) -> Persona:
        """An individual with neither e-mail nor mobile."""
        return next(
            p for p in self.individuals() if not p.client["email"] and not p.client["mobile"]
        )
