"""The noisy variants a student is distilled on look like posts people type, and a seeded run repeats them."""

from __future__ import annotations

import random

from classifiers.augment import VARIANTS, noisy_variant, without_diacritics


def test_diacritics_go_and_letters_stay_in_every_script():
    assert without_diacritics("Comanda nu a ajuns, ce se întâmplă?") == "Comanda nu a ajuns, ce se intampla?"
    assert without_diacritics("Příliš žluťoučký kůň") == "Prilis zlutoucky kun"
    assert without_diacritics("Zamówienie nie dotarło") == "Zamowienie nie dotarło"  # ł is a letter, not ł + a mark
    assert without_diacritics("Το πακέτο δεν έφτασε") == "Το πακετο δεν εφτασε"
    assert without_diacritics("ההזמנה לא הגיעה") == "ההזמנה לא הגיעה"


def test_a_variant_differs_from_the_post_and_keeps_most_of_it():
    rng = random.Random(7)
    post = "Comanda mea nr. 12345 nu a ajuns de o săptămână, ce se întâmplă?"
    variants = [noisy_variant(post, rng) for _ in range(50)]
    assert all(v != post for v in variants)
    assert all(len(v.split()) >= len(post.split()) // 2 for v in variants)
    assert len(set(variants)) > 5  # several kinds of change, not one


def test_each_kind_of_change_leaves_a_post_too_short_for_it_alone():
    rng = random.Random(0)
    assert VARIANTS["drop_word"]("Slab produs.", rng) == "Slab produs."
    assert VARIANTS["cut"]("Nu recomand deloc.", rng) == "Nu recomand deloc."
    assert noisy_variant("ok", rng) == "ok"
    assert noisy_variant("Recomand.", rng) == "recomand."


def test_a_seed_gives_the_same_variants():
    posts = ["Where is my refund for booking AB12CD?", "Aplikace pořád padá při přihlášení", "Great app, love it"]
    first = [noisy_variant(p, random.Random(3)) for p in posts]
    again = [noisy_variant(p, random.Random(3)) for p in posts]
    assert first == again
