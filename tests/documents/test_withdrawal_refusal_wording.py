"""The refusal to withdraw another agency's document reads as a sentence, in English and Spanish (red team round 16,
N4: "...: a supervisor of that agency or of the case's withdraws it")."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.factories import Api, World, ok


def test_another_agencys_document_is_refused_in_a_whole_sentence(client: TestClient, world: World) -> None:
    api = Api(client, world)
    reference = api.ready_case()["reference"]
    documents = ok(api.get("inm.officer", f"/api/v1/cases/{reference}/documents"))
    passport = documents[0]
    path = f"/api/v1/cases/{reference}/documents/{passport['id']}/withdraw"
    body = {"reason": "Pasaporte de otra persona archivado por error en este expediente."}
    refused = client.post(path, json=body, headers=world.headers("saime.supervisor"))
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["message"] == (
        f"the travel document {passport['number']} was filed by another agency: only a supervisor of that agency, "
        "or of a sending authority of the case's country, withdraws it"), refused.text
    spanish = client.post(path, json=body, headers={**world.headers("saime.supervisor"), "Accept-Language": "es"})
    assert spanish.status_code == 403, spanish.text
    assert spanish.json()["error"]["localized"]["message"] == (
        f"el documento de viaje {passport['number']} lo archivó otra agencia: solo lo retira un supervisor de esa "
        "agencia o de una autoridad de envío del país del caso"), spanish.text
