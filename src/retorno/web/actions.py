"""What each audited action is called on the pages (the case timeline, the audit trail), in Spanish; the English
catalog translates. And what an alert says happened, in both languages.

The audit trail keeps stable action codes (`case.register`, `screening.record`); people read these
labels. An action of a family (`case.<state>`, `manifest.<decision>`, `verification.<outcome>`,
`placement.<status>`) takes the family's label when it has none of its own.
"""

from __future__ import annotations

import re

from retorno.cases.service import PROTECTION_DETAIL_OF_MEMBER

ACTIONS = {
    "agency.create": "Agencia creada",
    "agency.disable": "Agencia desactivada",
    "agency.enable": "Agencia activada de nuevo",
    "arrival.confirm": "Llegada confirmada",
    "arrival.explain": "Diferencia de llegada explicada",
    "audit.key_rotated": "Clave de firma de la auditoría renovada",
    "boarding.boarded": "Embarcó",
    "boarding.deboarded": "Bajó del avión antes de la salida",
    "boarding.no_show_corrected": "No presentación corregida",
    "boarding.corrected": "Embarque registrado por error, corregido",
    "case.household_corrected": "Hogar del caso corregido",
    "case.assign": "Caso asignado",
    "case.register": "Caso registrado",
    "case.timeline_read": "Historial consultado",
    "case.update": "Datos del caso corregidos",
    "case.withdrawn": "Caso retirado",
    "cases.export": "Lista de casos exportada",
    "cases.concern_list": "Lista de casos con preocupación de protección consultada",
    "child.best_interests": "Determinación del interés superior registrada",
    "child.best_interests_spent": "Determinación del interés superior cumplida: un adulto del hogar espera con el niño",
    "consent.give": "Consentimiento registrado",
    "consent.withdraw": "Consentimiento retirado",
    "data_keys.rotate": "Claves de datos renovadas",
    "document.add": "Documento de viaje archivado",
    "duplicate.decide": "Posible duplicado decidido",
    "duplicate.flag": "Posible duplicado señalado",
    "duplicate.first_word_withdrawn": "Decisión de una agencia sobre un posible duplicado anulada por una corrección",
    "duplicate.read": "Posibles duplicados consultados",
    "document.issue_emergency": "Documento de viaje de emergencia emitido",
    "document.export": "Documento de viaje de emergencia descargado",
    "document.superseded": "Documento de emergencia sustituido por el de otro registro de la misma persona",
    "document.withdraw": "Documento de viaje retirado por archivarse por error",
    "flight.accept": "Vuelo aceptado",
    "flight.arrive": "Aterrizaje registrado",
    "flight.cancel": "Vuelo cancelado",
    "flight.cancel_consent": "Cancelación del vuelo aprobada por una parte",
    "flight.depart": "Salida del vuelo registrada",
    "flight.propose": "Vuelo propuesto",
    "flight.staff": "Personal del vuelo cambiado",
    "followup.record": "Seguimiento registrado",
    "household.member_joined": "Nuevo integrante del hogar",
    "household.member_left": "Un integrante pasó a otro hogar (corrección)",
    "household.split": "Separación del hogar autorizada",
    "household.split_ended": "Separación del hogar anulada (nuevo integrante)",
    "import.cases": "Casos importados",
    "import.opportunities": "Oportunidades importadas",
    "intake.read": "Admisión consultada",
    "intake.record": "Admisión registrada",
    "intake.transfer": "Admisión traspasada a otro operador",
    "list.export": "Lista exportada",
    "login": "Inicio de sesión",
    "login.failed": "Inicio de sesión fallido",
    "logout": "Cierre de sesión",
    "manifest.add": "Añadido al manifiesto",
    "manifest.approve": "Pasajero aprobado",
    "manifest.authorise_change": "Cambio en el manifiesto cerrado autorizado",
    "manifest.lock": "Manifiesto cerrado",
    "manifest.propose": "Manifiesto propuesto",
    "manifest.read": "Manifiesto consultado",
    "manifest.rejected": "Pasajero rechazado",
    "manifest.removed": "Retirado del manifiesto",
    "matching.offer": "Oferta de emparejamiento",
    "matching.run": "Emparejamiento ejecutado",
    "opportunity.create": "Oportunidad creada",
    "opportunity.update": "Oportunidad actualizada",
    "placement.accepted": "Colocación aceptada",
    "placement.completed": "Colocación completada",
    "placement.declined": "Colocación rechazada",
    "placement.dropped": "Colocación abandonada",
    "placement.reopen": "Fin de colocación anulado",
    "placement.started": "Colocación iniciada",
    "screening.escorts_read": "Escoltas médicos necesarios consultados",
    "screening.guardian_read": "Tutor receptor de un menor consultado",
    "safeguard.refused_held_elsewhere": "Intento rechazado sobre una persona retenida por otra agencia",
    "rows.sealed": "Registros de salvaguardas sellados en el registro de auditoría",
    "screening.read": "Evaluación de protección consultada",
    "screening.record": "Evaluación de protección registrada",
    # A withdrawal leaves the concerns open: the label says a resolution, not which (red team round 83, F2).
    "screening.resolve": "Resolución de protección registrada",
    "search.delete": "Búsqueda guardada borrada",
    "search.save": "Búsqueda guardada",
    "token.create": "Token de acceso creado",
    "token.revoke": "Token de acceso revocado",
    "user.create": "Usuario creado",
    "user.disable": "Usuario desactivado",
    "user.enable": "Usuario activado",
    "user.password": "Contraseña cambiada",
    "user.password_reset": "Contraseña restablecida",
    "user.role": "Función cambiada",
    "verification.audit_sample": "Muestra de auditoría de verificaciones",
    "verification.cancel": "Solicitud de verificación cancelada",
    "verification.console_run": "Ronda de verificación desde la consola",
    "verification.export": "Solicitudes de verificación exportadas",
    "verification.linker_revoked": "Vinculador de confianza revocado",
    "verification.linker_trusted": "Vinculador de confianza añadido",
    "verification.not_found": "Verificación: no encontrado en el registro",
    "verification.rejected": "Verificación rechazada",
    "verification.reopen": "Verificación reabierta",
    "verification.revoke": "Verificación revocada: se solicita de nuevo",
    "verification.revoked": "Verificación revocada por la autoridad receptora",
    "verification.request": "Verificación solicitada",
    "verification.review": "Verificación enviada a revisión",
    "verification.verified": "Nacionalidad verificada",
}
# The label of an action of a family that has none of its own.
FAMILIES = {
    "case.": "Cambio de estado",
    "manifest.": "Cambio en el manifiesto",
    "verification.": "Decisión de verificación",
    "placement.": "Paso de la colocación",
    "alert.": "Aviso",
}

# What an alert says happened to the person taken off a manifest, in Spanish and English.
ALERT_KINDS = {
    "protection_pull": ("retirado por una preocupación de protección", "taken off for a protection concern"),
    "medical_needs": ("retirado: cambió la escolta médica que necesita", "taken off: their medical escort changed"),
    "household_changed": ("retirado: cambió su hogar", "taken off: their household changed"),
    "with_household": ("retirado con su hogar: otro miembro salió del manifiesto",
                       "taken off with their household: another member left the manifest"),
    "one_seat": ("retirado: otro registro de la misma persona ocupa un asiento",
                 "taken off: another record of the same person holds a seat"),
    "identity_changed": ("retirado: cambió su identidad, se verifica de nuevo",
                         "taken off: their identity changed and is verified again"),
    "family_link": ("retirado: otro registro de la misma persona está en un hogar que no va en este vuelo",
                    "taken off: another record of the same person is in a household not on this flight"),
    "nationality_doubt": ("retirado: otro registro de la misma persona resultó no nacional",
                          "taken off: another record of the same person was found not a national"),
    "verification_revoked": ("retirado: la autoridad receptora revocó su verificación",
                             "taken off: the receiving authority revoked their verification"),
    "document_changed": ("retirado: cambió su documento de viaje", "taken off: their travel document changed"),
    "withdrawn": ("retirado: el caso se retiró", "taken off: the case was withdrawn"),
    "removed": ("retirado por el lado que envía", "taken off by the sending side"),
    "no_show": ("retirado: no se presentó a embarcar", "taken off: did not show up at the door"),
    "refused": ("retirado: se le negó el embarque", "taken off: refused boarding"),
    # Told to the sending side and the carrier besides, when the person had boarded (`flights.service.MUST_DEBOARD`).
    "must_deboard": ("embarcó y debe bajar del avión", "boarded: must leave the aircraft"),
    # What the receiving side is told of every one of them (`inbox.service.alert_told`).
    "taken_off": ("retirado del manifiesto", "taken off the manifest"),
}

# What else an inbox item may note about itself, in Spanish and English.
ITEM_NOTES = {
    "lock_time_passed": ("su hora de cierre pasó: nadie embarca hasta que un lado lo cierre",
                         "its lock time has passed: nobody boards until a side locks it"),
}

# What kind of record an audited action touched (`audit.record`'s object_type), in Spanish.
OBJECTS = {
    "agency": "agencia",
    "audit_key": "clave de auditoría",
    "case": "caso",
    "case_list": "lista de casos",
    "data_keys": "claves de datos",
    "flight": "vuelo",
    "follow_up": "seguimiento",
    "household": "hogar",
    "import": "importación",
    "linker": "vinculador",
    "list": "lista",
    "matching_run": "ronda de emparejamiento",
    "opportunity": "oportunidad",
    "placement": "colocación",
    "saved_search": "búsqueda guardada",
    "user": "usuario",
    "verification_run": "ronda de verificación",
}


def action_label(code: str) -> str | None:
    """The Spanish label of an audited action (a message id of the catalogs), or None for an unknown code."""
    if code in ACTIONS:
        return ACTIONS[code]
    family = code.partition(".")[0] + "."
    return FAMILIES.get(family)


# The reasons the service itself writes on the audit trail when a change it makes follows from another (a take-off, a
# state moved back), by their English text as written, in Spanish: the timeline of a case page reads them in the
# reader's language (red team round 31, F3: the Spanish page told "a record of the same person is in a household ...").
# A reason built with references or flights in it is shown as written; an official's own written reason as written.
# `tests/web/test_system_reasons.py` finds every constant reason in the source and asks for it here.
SYSTEM_REASONS = {
    PROTECTION_DETAIL_OF_MEMBER: "retirado con un miembro del hogar, por un detalle de protección de ese miembro: "
                                 "léalo en el registro de protección de ese miembro (una lectura auditada)",
    "consent withdrawn": "consentimiento retirado",
    "written reason kept as its digest (reason_sha256)": "motivo escrito guardado como su resumen (reason_sha256)",
    "the operator was disabled": "el operador fue desactivado",
    "protection resolution (reason kept encrypted with the resolution)":
        "resolución de protección (el motivo se guarda cifrado con la resolución)",
    "a possible duplicate of this person has a protection concern open":
        "un posible duplicado de esta persona tiene una preocupación de protección abierta",
    "another record of a household member was decided another person's":
        "se decidió que otro registro de un miembro del hogar es de otra persona",
    "another record of the same person was received at its destination after this record was registered: the "
    "person has made this record's journey":
        "otro registro de la misma persona fue recibido en su destino después de registrarse este: la persona ya hizo "
        "el viaje de este registro",
    "a record of the same person is in a household whose members are not on this flight (family unity): the "
    "household goes on the flight with the person, or a supervisor of its agency records a reason to split it":
        "un registro de la misma persona está en un hogar cuyos miembros no van en este vuelo (unidad familiar): el "
        "hogar va en el vuelo con la persona, o una supervisión de su agencia registra un motivo para separarlo",
    "another record of the same person holds a seat on a manifest another agency holds":
        "otro registro de la misma persona ocupa un asiento en un manifiesto de otra agencia",
    "a new member joined the household after it was split": "un nuevo miembro se unió al hogar después de separarse",
    "an adult of the household waits with the child again": "un adulto del hogar vuelve a esperar con el niño",
    "a new travel document was filed after manifesting":
        "se registró un nuevo documento de viaje después de incluirse en el manifiesto",
    "a new member joined the household": "un nuevo miembro se unió al hogar",
    "protection concern raised after manifesting":
        "preocupación de protección registrada después de incluirse en el manifiesto",
    "another record of the same person was found not a national":
        "otro registro de la misma persona resultó no nacional",
    "identity changed after verification": "la identidad cambió después de la verificación",
    "the receiving authority revoked the verification": "la autoridad receptora revocó la verificación",
    "the travel document on file was withdrawn as filed in error":
        "el documento de viaje registrado se retiró por haberse registrado por error",
    "protection concern raised on another record of the same person":
        "preocupación de protección registrada en otro registro de la misma persona",
    "protection concern open on another record of the same person":
        "preocupación de protección abierta en otro registro de la misma persona",
    "identity fields changed after the verification request":
        "los datos de identidad cambiaron después de la solicitud de verificación",
    "the case left the receiving authority's work before a decision":
        "el caso salió del trabajo de la autoridad receptora antes de una decisión",
}
# A household member taken off with the person named (`flights.service.take_off_manifests`).
_MEMBER_OF = re.compile(r"^(?P<reason>.*) \(household member (?P<case>[^()]+)\)$", re.DOTALL)


def reason_label(reason: str, locale: str) -> str:
    """A reason of the audit trail in the reader's language: the service's own (`SYSTEM_REASONS`) in Spanish."""
    if locale != "es":
        return reason
    member = _MEMBER_OF.match(reason)
    if member:
        return f"{reason_label(member['reason'], locale)} (miembro del hogar {member['case']})"
    return SYSTEM_REASONS.get(reason, reason)

