"""A cohort of members who want groups, for the group tests: two experiences, two languages, two weekly times."""
from __future__ import annotations

from tests.api.helpers import create

MONDAY = [{"day": "mon", "start": "18:00", "end": "21:00"}]           # Europe/Madrid
SATURDAY = [{"day": "sat", "start": "09:00", "end": "12:00"}]

GRIEF_STORIES = [
    "My husband died in February after a heart attack. The house is silent and I set two cups out every morning.",
    "I lost my mother to a long illness last autumn. I still reach for the phone on Sundays to call her.",
    "My brother died suddenly this spring. Grief comes in waves and I cannot explain it to my colleagues.",
    "My wife passed away a year ago. I do not know how to cook for one person or sleep in our bed alone.",
    "Our son died in an accident two years ago. Friends stopped asking about him and I miss saying his name.",
]
CANCER_STORIES = [
    "I was diagnosed with breast cancer in March and started chemotherapy. The fear before every scan is awful.",
    "I finished radiotherapy for a tumour last month and I am exhausted. Everyone expects me to be fine now.",
    "My lymphoma came back after two years in remission. I am scared of the next round of treatment.",
    "Chemotherapy took my hair and my energy. I worry about my job and about my children seeing me so tired.",
    "After surgery for bowel cancer I am waiting for results. The waiting and the uncertainty keep me awake.",
]
SPANISH_STORIES = [
    "Mi madre murió en enero y la casa está vacía. Todavía la llamo por teléfono sin pensar.",
    "Perdí a mi esposo hace un año. Las noches son lo más difícil y no duermo bien.",
    "Mi hermano falleció de repente en verano. Nadie en el trabajo entiende mi tristeza.",
    "Mi padre murió después de una larga enfermedad. Echo de menos hablar con él cada domingo.",
]
BRIDGE_STORY = ("My grandmother who raised me died in March. Mi abuela era todo para mí and I talk to her "
                "photo in both languages.")


def group_member(member_body, name: str, narrative: str, **changes) -> dict:
    """A member who wants groups (seeker unless said otherwise), free on Monday evenings in Madrid."""
    body = member_body(display_name=name, narrative=narrative, intro=f"{name}'s intro.", languages=["en"],
                       availability=MONDAY, formats=["group"], topics=[])
    body.update(changes)
    return body


def make_cohort(client, headers, member_body) -> dict[str, list[int]]:
    """grief (en, Monday), cancer (en, Saturday), spanish (es, Monday) and one bilingual Monday member."""
    ids: dict[str, list[int]] = {"grief": [], "cancer": [], "spanish": []}
    for i, story in enumerate(GRIEF_STORIES):
        ids["grief"].append(create(client, headers, group_member(member_body, f"Grief {i}", story))["id"])
    for i, story in enumerate(CANCER_STORIES):
        ids["cancer"].append(create(client, headers, group_member(member_body, f"Cancer {i}", story,
                                                                  availability=SATURDAY))["id"])
    for i, story in enumerate(SPANISH_STORIES):
        ids["spanish"].append(create(client, headers, group_member(member_body, f"Luz {i}", story,
                                                                   languages=["es"]))["id"])
    ids["bridge"] = [create(client, headers, group_member(member_body, "Bea", BRIDGE_STORY,
                                                          languages=["en", "es"]))["id"]]
    return ids


def open_programme(client, headers, **changes) -> dict:
    body = {"name": "Evening circles", "languages": ["en", "es"], "min_size": 4, "max_size": 6}
    body.update(changes)
    response = client.post("/api/v1/programmes", json=body, headers=headers)
    assert response.status_code == 201, response.json
    return response.json


def form(client, headers, programme_id: int) -> dict:
    response = client.post(f"/api/v1/programmes/{programme_id}/formations", json={}, headers=headers)
    assert response.status_code == 201, response.json
    return response.json
