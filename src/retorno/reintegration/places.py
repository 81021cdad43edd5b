"""Venezuelan states (ISO 3166-2:VE via pycountry) and the coordinates of their capitals.

Distances in the fit score are measured between state capitals: municipality coordinates
are not in any maintained package, and within one state the distance is taken as zero.
"""

from __future__ import annotations

from functools import cache

import pycountry

# Capital and (latitude, longitude) of each state's capital.
CAPITALS: dict[str, tuple[str, float, float]] = {
    "VE-A": ("Caracas", 10.4806, -66.9036), "VE-B": ("Barcelona", 10.1333, -64.6833),
    "VE-C": ("San Fernando de Apure", 7.8878, -67.4724), "VE-D": ("Maracay", 10.2469, -67.5958),
    "VE-E": ("Barinas", 8.6226, -70.2075), "VE-F": ("Ciudad Bolívar", 8.1222, -63.5497),
    "VE-G": ("Valencia", 10.1620, -68.0077), "VE-H": ("San Carlos", 9.6617, -68.5828),
    "VE-I": ("Coro", 11.4045, -69.6734), "VE-J": ("San Juan de los Morros", 9.9117, -67.3538),
    "VE-K": ("Barquisimeto", 10.0678, -69.3474), "VE-L": ("Mérida", 8.5897, -71.1561),
    "VE-M": ("Los Teques", 10.3447, -67.0433), "VE-N": ("Maturín", 9.7457, -63.1832),
    "VE-O": ("La Asunción", 11.0333, -63.8628), "VE-P": ("Guanare", 9.0418, -69.7421),
    "VE-R": ("Cumaná", 10.4530, -64.1826), "VE-S": ("San Cristóbal", 7.7669, -72.2250),
    "VE-T": ("Trujillo", 9.3659, -70.4337), "VE-U": ("San Felipe", 10.3399, -68.7425),
    "VE-V": ("Maracaibo", 10.6427, -71.6125), "VE-W": ("Los Roques", 11.8500, -66.7500),
    "VE-X": ("La Guaira", 10.6000, -66.9333), "VE-Y": ("Tucupita", 9.0581, -62.0510),
    "VE-Z": ("Puerto Ayacucho", 5.6639, -67.6236),
}


@cache
def state_names() -> dict[str, str]:
    """ISO 3166-2 code → name, for the states of Venezuela."""
    return {s.code: s.name for s in pycountry.subdivisions.get(country_code="VE") or []}


def is_state(code: str) -> bool:
    return code in state_names()


def coordinates(state_code: str | None) -> tuple[float, float]:
    """Where a returnee's home or an opportunity is, for distances: the state capital (Caracas if unknown)."""
    _, lat, lon = CAPITALS.get(state_code or "", CAPITALS["VE-A"])
    return (lat, lon)
