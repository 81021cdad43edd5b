"""Red team: an MRZ of another person (another sex and nationality) filed on a case listed neither difference
among the document's problems."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi.testclient import TestClient

from retorno.documents import mrz
from tests.factories import Api, World, ok


def test_a_document_of_another_sex_or_nationality_says_so(client: TestClient, world: World) -> None:
    api = Api(client, world)
    case = api.register(sex="F")
    born = date.fromisoformat(case["birth_date"])
    text = mrz.build_td3(document_code="P", issuing_state="COL", surnames=f"{case['first_surname']}",
                         given_names=case["given_names"], document_number="C48213795", nationality="COL",
                         birth_date=born, sex="M", expiry_date=date.today() + timedelta(days=900))
    filed = ok(api.post("inm.officer", f"/api/v1/cases/{case['reference']}/documents", {"mrz": text}), 201)
    said = str(filed)
    assert "the MRZ sex M differs from the declared F" in said, said
    assert "the MRZ nationality COL differs from the declared VEN" in said, said
    # The person's own passport has neither problem.
    assert "differs" not in str(api.passport(case))
